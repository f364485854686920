"""Redis URLs as messages show them: without the password."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["redact"]

_SECRET_QUERY = re.compile(r"(?i)(?<![^&])(password|username)=[^&]*")


def redact(url: str) -> str:
    """The URL with its password (and any ``password``/``username`` query value) replaced by
    ``***``; the rest — IPv6 brackets, a bad port — is shown as written."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{host}"
    query = _SECRET_QUERY.sub(r"\1=***", parts.query)
    return urlunsplit(parts._replace(netloc=netloc, query=query))
