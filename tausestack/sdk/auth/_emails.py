"""Account emails: one bare address (``ana@example.com``) that mail can reach.

Every backend that keeps accounts checks them here, with the rules ``tausestack.sdk.notify``
applies to the addresses it sends to (a dot-atom of ASCII before the ``@``, a valid domain,
internationalized ones included, no space or control character), plus a dot in the domain. So
markup (``[red]x[/red]@example.com``), a name (``Ana <ana@example.com>``) or a second header
line never becomes an account's email.
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidUserDataError

__all__ = ["checked_email"]

#: The longest address SMTP carries (RFC 5321, 4.5.3.1.3: a 256-octet path less the <>).
MAX_LENGTH = 254


def checked_email(value: Any) -> str:
    """``value`` without surrounding spaces when it is one email address.

    Raises:
        InvalidUserDataError: ``Invalid email address '…': <why>.`` otherwise.
    """
    # notify brings Jinja along: imported when an email is checked, not with the auth package.
    from ..notify._addresses import parse_address
    from ..notify.errors import InvalidMessageError

    if not isinstance(value, str):
        raise InvalidUserDataError(
            f"The email must be a string such as 'ana@example.com', not {type(value).__name__}."
        )
    address = value.strip()
    shown = f"Invalid email address {value[:200]!r}"
    if "<" in address or ">" in address:
        raise InvalidUserDataError(
            f"{shown}: give the address alone, without a name or <>, like ana@example.com."
        )
    if len(address) > MAX_LENGTH:
        raise InvalidUserDataError(f"{shown}: it is longer than {MAX_LENGTH} characters.")
    if " " in address and address.isprintable():
        # notify's message suggests a name before the address, which an account cannot have.
        raise InvalidUserDataError(
            f"{shown}: it holds a space, which an address cannot; give it alone, like "
            "ana@example.com."
        )
    try:
        parse_address(address, "email")
    except InvalidMessageError as exc:
        raise InvalidUserDataError(str(exc)) from None
    if "." not in address.rpartition("@")[2]:
        raise InvalidUserDataError(
            f"{shown}: its domain has no dot; an address looks like name@example.com."
        )
    return address
