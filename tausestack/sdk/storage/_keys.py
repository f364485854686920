"""Keys: validated the same way on every backend, and mapped to one object name.

A key is a relative, ``/``-separated path: ``reports/2026/q1.json``. It maps to exactly that
object name — nothing is added, stripped or guessed, so ``a.v1`` and ``a.v2`` stay two objects —
prefixed by the tenant's namespace when one is set (:func:`tenant`).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from .errors import InvalidKeyError

TENANTS_PREFIX = "tenants/"
#: The longest file name most file systems take; keys keep to it on every backend.
MAX_SEGMENT_LENGTH = 255
#: Local temporary files start with this; no key segment may, so listings never show them.
TEMPORARY_MARK = ".~tmp-"

# C0 and C1 controls, line and paragraph separators, and the bidirectional overrides that make
# a key display differently from what it is.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")

current_tenant: ContextVar[str | None] = ContextVar("tausestack_storage_tenant", default=None)


@contextmanager
def tenant(name: str | None) -> Iterator[None]:
    """Store and read under ``tenants/<name>/`` in this block (None: no namespace).

    Example::

        with storage.tenant("acme"):
            storage.json.put("settings", {...})   # object "tenants/acme/settings"
    """
    if name is not None and not (isinstance(name, str) and _TENANT.match(name)):
        raise InvalidKeyError(
            f"Tenant {name!r} cannot be a storage namespace: use 1-128 letters, digits, '_', "
            "'-' or '.', starting with a letter or digit."
        )
    token = current_tenant.set(name)
    try:
        yield
    finally:
        current_tenant.reset(token)


def check_key(key: object, max_length: int) -> str:
    """Return ``key`` if it is a valid storage key, else raise InvalidKeyError saying why."""
    if not isinstance(key, str):
        raise InvalidKeyError(
            f"A storage key must be a str, not {type(key).__name__} ({key!r}); "
            "write it as a relative path such as 'reports/2026.json'."
        )
    problem = _key_problem(key, max_length)
    if problem:
        raise InvalidKeyError(f"Invalid storage key {preview(key)}: {problem}.")
    return key


def _key_problem(key: str, max_length: int) -> str | None:
    if not key:
        return "it is empty"
    if _CONTROL.search(key):
        return (
            "it contains a control character (newline, tab, NUL, a bidirectional override…); "
            "remove it"
        )
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        return "it is not valid Unicode (a lone surrogate); fix how the key is built"
    if len(encoded) > max_length:
        return f"it is longer than {max_length} bytes (storage.max_key_length)"
    if key.startswith("/"):
        return "it is absolute; drop the leading '/'"
    if "\\" in key:
        return "it contains '\\'; separate folders with '/'"
    if key.endswith("/"):
        return "it ends with '/', which names a folder, not an object"
    for segment in key.split("/"):
        if segment == "":
            return "it has an empty segment ('//'); remove the extra '/'"
        if segment in {".", ".."}:
            return f"it has a {segment!r} segment; keys cannot climb or point at folders"
        if len(segment.encode("utf-8")) > MAX_SEGMENT_LENGTH:
            return (
                f"a segment is longer than {MAX_SEGMENT_LENGTH} bytes, more than file systems "
                "allow in one name; split it with '/'"
            )
        if segment.startswith(TEMPORARY_MARK):
            return f"a segment starts with {TEMPORARY_MARK!r}, reserved for temporary files"
    return None


def preview(key: str, limit: int = 80) -> str:
    """``repr(key)``, shortened in the middle when long, for error messages."""
    if len(key) <= limit:
        return repr(key)
    return repr(key[: limit // 2]) + "…" + repr(key[-limit // 4 :])


def check_prefix(prefix: object, max_length: int) -> str:
    """A listing prefix: empty, or a key-like string that may end with '/'."""
    if prefix == "":
        return ""
    if not isinstance(prefix, str):
        raise InvalidKeyError(f"A storage prefix must be a str, not {type(prefix).__name__}.")
    check_key(prefix.rstrip("/") or "/", max_length)
    return prefix


def object_name(key: str, max_length: int | None = None) -> str:
    """The object name a (valid) key maps to under the current tenant, within ``max_length``
    bytes when given."""
    tenant_name = current_tenant.get()
    if tenant_name is None:
        return key
    name = f"{TENANTS_PREFIX}{tenant_name}/{key}"
    if max_length is not None and len(name.encode("utf-8")) > max_length:
        raise InvalidKeyError(
            f"Invalid storage key {preview(key)}: under tenant {tenant_name!r} it becomes "
            f"longer than {max_length} bytes (storage.max_key_length); shorten it."
        )
    return name


def guess_content_type(key: str) -> str:
    """The content type a key's extension suggests, else ``application/octet-stream``."""
    return mimetypes.guess_type(key, strict=False)[0] or "application/octet-stream"


def key_of(name: str) -> str:
    """The key an object name (from a listing under the current tenant) stands for."""
    tenant_name = current_tenant.get()
    if tenant_name is None:
        return name
    return name[len(TENANTS_PREFIX) + len(tenant_name) + 1 :]
