"""Secrets kept out of what people read: ``tausestack config show``, and the reprs, ``str``
and ``model_dump_json`` of settings.

What counts as a secret:

- a ``SecretStr`` (how settings declare secrets);
- a string, or a mapping or list of them, under a name that says secret (``password``,
  ``api_token``, ``api-key``, ``Authorization``, ``Cookie``, ``dsn``…; :data:`SECRET_NAME`);
- a number under a name that ends with a secret word (``api_key: 123456789``), not under one
  that only mentions it (``min_password_length``, ``token_ttl``);
- inside any string: the password of a URL (``scheme://user:PASSWORD@host``, up to the last
  ``@`` before the host, so an unencoded ``@`` in it does not show its end; with spaces too in
  the URL a string starts with) and the values of secret-named query parameters
  (``?password=…``, ``&sslpassword=…``, ``?api_key=…``).

``${secret:NAME}`` references are shown as written: they hold no secret. Once
``create_app()`` has resolved them, each string that held one is a :class:`ResolvedText`: the
real value to the code, and to people the value as written with ``********`` for each
reference, whatever the name of its field (``stripe: ${secret:STRIPE_LIVE}``). A settings model
lists the fields whose names sound secret but whose values are not in ``public_fields`` (a
cookie's *name*: ``auth.sessions.cookie``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, SecretStr

__all__ = [
    "REDACTED",
    "SECRET_NAME",
    "URL_PASSWORD_AT_START",
    "RedactedReprModel",
    "ResolvedText",
    "dump_for_json",
    "mask",
    "mask_url_secrets",
    "public_fields",
    "redacted_data",
    "redacted_dump_json",
    "redacted_repr_args",
    "secret_name",
]

REDACTED = "********"
_WORDS = (
    r"password|passwd|secret|token|api[-_]?key|private[-_]?key|credential|authorization|cookie"
    r"|dsn"
)
#: Names whose values are secrets (anywhere in the name: ``db_password``, ``X-Api-Key``).
SECRET_NAME = re.compile(_WORDS, re.I)
_SECRET_NAME_END = re.compile(rf"(?:{_WORDS})s?$", re.I)
#: Query parameters whose values are secrets: those of :data:`SECRET_NAME`, and a few short
#: names that services use for keys and signatures.
_SECRET_QUERY_NAME = re.compile(rf"{_WORDS}|^(?:key|sig|signature|pwd|pass|auth)$", re.I)
#: ``scheme://user:password@host``: the password runs to the first ``@`` followed by no other
#: before the query (or the end), so ``redis://:p@ss@host`` hides ``p@ss`` and a password
#: holding ``/``, ``#`` or ``?`` (as SQLAlchemy reads one) is hidden whole.
_SCHEME_AND_USER = r"[a-z][a-z0-9+.-]*://[^:/@\s]*:"
_HOST_AFTER = r"@(?=[^@?\s]*(?:[?\s]|$))"
_URL_PASSWORD = re.compile(
    rf"(?P<prefix>\b{_SCHEME_AND_USER})(?P<password>\S*?){_HOST_AFTER}", re.I
)
#: The same for a string that starts with a URL (a setting's whole value): its password may
#: hold spaces too (``postgresql://app:pa ss@db/app``), as it cannot be part of a sentence.
#: Its host ends at a query, the end, or a space after which no other ``@`` comes before the next
#: URL (``postgresql://app:p@ss w0rd@db/app`` hides ``p@ss w0rd``; ``redis://:pw@a then
#: redis://:x@b`` ends the first password at ``a``).
URL_PASSWORD_AT_START = re.compile(
    rf"^(?P<prefix>{_SCHEME_AND_USER})(?P<password>.*?)"
    r"@(?=[^@?\s]*(?:\?|$|\s(?![^@]*@)|\s[^@]*://))",
    re.I | re.S,
)
_QUERY_PARAMETER = re.compile(r"(?P<name>[?&;](?P<key>[^=&;#\s]+)=)(?P<value>[^&;#\s]*)")


class ResolvedText(str):
    """A string setting that held ``${secret:…}`` references, after they were resolved.

    It is the resolved string (equal to it, usable wherever it is), and carries ``shown``: the
    value as written, each reference replaced by ``********``, which every rendering of the
    settings shows instead (its own ``repr`` too). It keeps a secret out of the reprs whatever
    the name of the field that holds it.
    """

    shown: str

    def __new__(cls, value: str, shown: str) -> ResolvedText:
        """``value`` (the resolved string), shown to people as ``shown``."""
        text = super().__new__(cls, value)
        text.shown = shown
        return text

    def __getnewargs__(self) -> tuple[str, str]:  # type: ignore[override]
        return str(self), self.shown

    def __repr__(self) -> str:
        return repr(mask_url_secrets(self.shown))


def secret_name(name: str, value: Any) -> bool:
    """Whether ``name`` says that ``value`` is a secret (see the module docstring)."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return bool(_SECRET_NAME_END.search(name))
    return bool(SECRET_NAME.search(name))


def public_fields(model: BaseModel) -> frozenset[str]:
    """The fields of ``model`` whose names sound secret but whose values are not."""
    fields: frozenset[str] = getattr(type(model), "public_fields", frozenset())
    return fields


def mask(text: str) -> str:
    """``********`` in place of everything in ``text`` but its ``${secret:…}`` references."""
    from .sdk.secrets._references import REFERENCE

    pieces: list[str] = []
    end = 0
    for match in REFERENCE.finditer(text):
        if match.start() > end:
            pieces.append(REDACTED)
        pieces.append(match.group(0))
        end = match.end()
    if end < len(text):
        pieces.append(REDACTED)
    return "".join(pieces)


def mask_url_secrets(text: str) -> str:
    """``text`` with the passwords of its URLs and their secret-named query values masked."""
    if "://" not in text:
        return text
    for pattern in (URL_PASSWORD_AT_START, _URL_PASSWORD):
        text = pattern.sub(lambda match: match["prefix"] + mask(match["password"]) + "@", text)
    if "?" not in text:
        return text
    start = text.index("?")
    return text[:start] + _QUERY_PARAMETER.sub(_query_value, text[start:])


def _query_value(match: re.Match[str]) -> str:
    if not match["value"] or not _SECRET_QUERY_NAME.search(unquote_plus(match["key"])):
        return match.group(0)
    return match["name"] + mask(match["value"])


def redacted_data(value: Any, *, secret: bool) -> Any:
    """``value`` as plain data to show (JSON types), its secrets masked; ``secret`` says its
    name (or the name of what holds it) is secret."""
    from pydantic_core import to_jsonable_python

    if isinstance(value, SecretStr):
        return mask(value.get_secret_value())
    if isinstance(value, BaseModel):
        public = public_fields(value)
        return {
            name: redacted_data(field, secret=secret or _named_secret(name, field, public))
            for name, field in _fields(value)
        }
    if isinstance(value, dict):
        return {
            key: redacted_data(item, secret=secret or secret_name(str(key), item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [redacted_data(item, secret=secret) for item in value]
    return to_jsonable_python(_masked_scalar(value, secret))


def _fields(model: BaseModel) -> Iterator[tuple[str, Any]]:
    for name in [*type(model).model_fields, *(model.model_extra or {})]:
        yield name, getattr(model, name)


def _named_secret(name: str, value: Any, public: frozenset[str]) -> bool:
    """Whether a model's field is secret by its name; a section's name says nothing of its
    values (``secrets.backend``)."""
    if name in public or isinstance(value, BaseModel):
        return False
    return secret_name(name, value)


def _masked_scalar(value: Any, secret: bool) -> Any:
    if isinstance(value, ResolvedText):
        value = value.shown
    if isinstance(value, str):
        return mask(value) if secret else mask_url_secrets(value)
    if secret and isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED
    return value


# -- JSON dumps -------------------------------------------------------------------------------


def redacted_dump_json(model: BaseModel, dumped: Any, *, indent: int | None = None) -> str:
    """``dumped`` (``model``'s ``model_dump(mode="json")``, filtered as it was asked) as JSON
    text, its secrets masked as :func:`redacted_data` masks them."""
    from pydantic_core import to_json

    masked = _redacted_dumped(model, dumped, secret=False)
    resolved: dict[str, str] = {}
    _collect_resolved(model, resolved, set())
    if resolved:  # any that the walk beside the dump missed (int keys, an excluded item…)
        masked = _replace_resolved(masked, resolved)
    return to_json(masked, indent=indent).decode()


def _collect_resolved(value: Any, found: dict[str, str], seen: set[int]) -> None:
    """Every :class:`ResolvedText` in ``value``'s models, mappings and sequences, by the text
    it stands for."""
    if isinstance(value, ResolvedText):
        found[str(value)] = value.shown
        return
    if isinstance(value, str | bytes | int | float | type(None)) or id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, BaseModel):
        children: Iterable[Any] = [*value.__dict__.values(), *(value.model_extra or {}).values()]
    elif isinstance(value, dict):
        children = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple | set | frozenset):
        children = value
    else:
        return
    for child in children:
        _collect_resolved(child, found, seen)


def _replace_resolved(dumped: Any, resolved: dict[str, str]) -> Any:
    if isinstance(dumped, str):
        return resolved.get(dumped, dumped)
    if isinstance(dumped, dict):
        return {
            _replace_resolved(key, resolved): _replace_resolved(item, resolved)
            for key, item in dumped.items()
        }
    if isinstance(dumped, list):
        return [_replace_resolved(item, resolved) for item in dumped]
    return dumped


def _redacted_dumped(value: Any, dumped: Any, *, secret: bool) -> Any:
    """``dumped`` masked, walking ``value`` (what was dumped) beside it for the models'
    public fields and the names of their sections."""
    if isinstance(value, SecretStr):
        return mask(value.get_secret_value())
    if isinstance(value, BaseModel) and isinstance(dumped, dict):
        public = public_fields(value)
        names = _names_by_alias(value)
        masked = {}
        for key, item in dumped.items():
            name = names.get(str(key), str(key))  # by_alias dumps a field under its alias
            field = getattr(value, name, item)
            named = _named_secret(name, field, public) or (
                key != name and name not in public and _named_secret(key, field, public)
            )
            masked[key] = _redacted_dumped(getattr(value, name, None), item, secret=secret or named)
        return masked
    if isinstance(value, list | tuple) and isinstance(dumped, list) and len(value) == len(dumped):
        return [
            _redacted_dumped(v, item, secret=secret) for v, item in zip(value, dumped, strict=True)
        ]
    if isinstance(value, dict) and isinstance(dumped, dict):
        return {
            key: _redacted_dumped(
                value.get(key), item, secret=secret or secret_name(str(key), item)
            )
            for key, item in dumped.items()
        }
    if isinstance(value, ResolvedText) and dumped == value:
        dumped = value.shown
    return redacted_data(dumped, secret=secret)


def _names_by_alias(model: BaseModel) -> dict[str, str]:
    """The names of ``model``'s fields by the keys ``model_dump(by_alias=True)`` gives them
    (their serialization alias, else their alias), and by their own names."""
    model_type = type(model)
    names = {name: name for name in [*model_type.model_fields, *(model.model_extra or {})]}
    aliases: list[tuple[str, str | None]] = [
        (name, field.serialization_alias or field.alias)
        for name, field in model_type.model_fields.items()
    ]
    aliases += [(name, field.alias) for name, field in model_type.model_computed_fields.items()]
    for name, alias in aliases:
        names.setdefault(name, name)
        if alias:
            names.setdefault(alias, name)
    return names


# -- reprs ------------------------------------------------------------------------------------


def redacted_repr_args(
    model: BaseModel, arguments: Iterable[tuple[str | None, Any]], *, secret: bool = False
) -> Iterator[tuple[str | None, Any]]:
    """``model``'s repr arguments (pydantic's ``__repr_args__``) with secrets masked;
    ``secret`` says the name of what holds the model is secret."""
    public = public_fields(model)
    for name, value in arguments:
        named = name is not None and _named_secret(name, value, public)
        yield name, _redacted_for_repr(value, secret or named)


def _redacted_for_repr(value: Any, secret: bool) -> Any:
    if isinstance(value, SecretStr):
        return value  # its repr is masked already
    if isinstance(value, BaseModel):
        return value if isinstance(value, RedactedReprModel) else _ReprView(value, secret)
    if isinstance(value, dict):
        return {
            key: _redacted_for_repr(item, secret or secret_name(str(key), item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redacted_for_repr(item, secret) for item in value)
    if isinstance(value, set | frozenset):
        return [_redacted_for_repr(item, secret) for item in value]
    return _masked_scalar(value, secret)


class _ReprView:
    """The repr of a model that does not mask its own secrets, masked."""

    def __init__(self, model: BaseModel, secret: bool) -> None:
        self.model, self.secret = model, secret

    def __repr__(self) -> str:
        arguments = redacted_repr_args(self.model, _fields(self.model), secret=self.secret)
        shown = ", ".join(f"{name}={value!r}" for name, value in arguments)
        return f"{type(self.model).__name__}({shown})"


class RedactedReprModel(BaseModel):
    """A pydantic model whose renderings for people mask its secrets (see the module
    docstring): ``repr``, ``str`` (so f-strings and logging) and ``model_dump_json``;
    ``model_dump`` and attribute access give the real values."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        return redacted_repr_args(self, super().__repr_args__())

    def model_dump_json(self, *, indent: int | None = None, **options: Any) -> str:
        """The JSON text of the model, its secrets masked (``model_dump`` keeps them).

        Takes ``model_dump_json``'s options (``include``, ``exclude``, ``exclude_none``…).
        """
        return redacted_dump_json(self, dump_for_json(self, options), indent=indent)


def dump_for_json(model: BaseModel, options: dict[str, Any]) -> Any:
    """``model.model_dump(mode="json", **options)``; the options only JSON text takes
    (``ensure_ascii``) are dropped, as the masked JSON is written by pydantic-core again."""
    options.pop("ensure_ascii", None)
    return model.model_dump(mode="json", **options)
