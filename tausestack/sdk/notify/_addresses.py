"""Email addresses: parsed, checked and normalized before anything is sent.

An address is ``"ada@example.com"``, ``"Ada Lovelace <ada@example.com>"`` or an
``email.headerregistry.Address``. The local part must be a dot-atom of ASCII characters (what
every server takes without SMTPUTF8); an internationalized domain is sent in its ASCII (IDNA)
form: IDNA 2008 with UTS #46 through the ``idna`` package, since Python's own ``idna`` codec is
IDNA 2003 and maps some names to other domains (``straße.de`` to ``strasse.de``). No part may
hold a line break or another control character, so no address can smuggle a header into the
message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.headerregistry import Address

import idna

from .errors import InvalidMessageError

__all__ = ["AddressLike", "Recipients", "parse_address", "parse_addresses"]

AddressLike = str | Address
Recipients = AddressLike | Iterable[AddressLike]

#: C0 and C1 controls and the Unicode line and paragraph separators (all line breaks to Python).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = re.compile(r"^(?P<name>.*?)\s*<(?P<address>[^<>]*)>$", re.DOTALL)
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_PART = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def parse_address(value: object, field: str) -> Address:
    """``value`` as an ``Address`` with an ASCII domain; InvalidMessageError naming ``field`` and
    the value when it is not one address."""
    if isinstance(value, Address):
        name, address = value.display_name, value.addr_spec
    elif isinstance(value, str):
        if _CONTROL.search(value):  # before anything is stripped away
            raise InvalidMessageError(
                f"Invalid {field} address {_shown(value)!r}: it holds a line break or another "
                "control character."
            )
        name, address = _split(value)
    else:
        raise InvalidMessageError(
            f"Invalid {field} address {value!r}: expected a str such as 'ada@example.com' or "
            "'Ada <ada@example.com>', or an email.headerregistry.Address."
        )
    reason = _problem(name, address)
    if reason is not None:
        raise InvalidMessageError(f"Invalid {field} address {_shown(value)!r}: {reason}.")
    local, _, domain = address.rpartition("@")
    return Address(display_name=name, username=local, domain=_ascii_domain(domain))


def parse_addresses(value: Recipients | None, field: str) -> list[Address]:
    """One address or several (a list, tuple or set) as ``Address`` objects, in order."""
    if value is None:
        return []
    if isinstance(value, str | Address):
        return [parse_address(value, field)]
    given: object = value  # typed callers aside, anything may arrive here
    if not isinstance(given, Iterable) or isinstance(given, bytes | bytearray):
        raise InvalidMessageError(
            f"Invalid {field}: expected an address or a list of addresses, not "
            f"{type(given).__name__}."
        )
    return [parse_address(item, field) for item in given]


def _split(text: str) -> tuple[str, str]:
    text = text.strip()
    match = _NAMED.match(text)
    if match is None:
        return "", text
    name = match.group("name").strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return name, match.group("address").strip()


def _problem(name: str, address: str) -> str | None:
    if _CONTROL.search(name) or _CONTROL.search(address):
        return "it holds a line break or another control character"
    if not address:
        return "it is empty; an address looks like name@example.com"
    if "@" not in address:
        return "it has no @; an address looks like name@example.com"
    if address.count("@") > 1 and re.search(r"[\s,;]", address):
        return f"it holds {address.count('@')} addresses; pass several addresses as a list"
    if re.search(r"\s", address):
        return (
            "it holds a space, which an address cannot (a name goes before it: "
            "'Ada <ada@example.com>')"
        )
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return "an address looks like name@example.com"
    if len(local) > 64:
        return "the part before @ is longer than 64 characters"
    if not local.isascii():
        return "the part before @ must be ASCII (servers without SMTPUTF8 refuse others)"
    if not _LOCAL_PART.match(local):
        return f"{local!r} is not a valid part before @ (letters, digits, .!#$%&'*+/=?^_`{{|}}~-)"
    try:
        ascii_domain = _ascii_domain(domain)
    except UnicodeError:
        return f"{domain!r} is not a valid domain"
    labels = ascii_domain.split(".")
    if len(ascii_domain) > 253 or not all(_LABEL.match(label) for label in labels):
        return f"{domain!r} is not a valid domain"
    return None


def _ascii_domain(domain: str) -> str:
    return domain if domain.isascii() else idna.encode(domain, uts46=True).decode("ascii")


def _shown(value: object) -> str:
    return str(value)[:200]
