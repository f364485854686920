"""Audit events: security decisions as structured log records on the ``tausestack.audit`` logger.

Each record's message is the event name, and ``record.audit`` holds its fields (``event``,
``reason``, ``user_id``, ``path``, ``method``, ``client``), so a JSON log formatter or a log
shipper can index them. Events: ``authentication_failed`` (a missing or invalid token where
one was required), ``permission_denied`` (a disabled user, a missing role or permission, a
failed CSRF check), ``login_failed``, ``login_throttled`` (too many failed password attempts
for an account or an address: a 429; all four at WARNING), and ``user_registered``,
``login_succeeded`` and ``token_revoked`` (INFO). Tokens, passwords and secrets are never part
of an event.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection

__all__ = ["AUDIT_LOGGER", "audit"]

AUDIT_LOGGER = logging.getLogger("tausestack.audit")


def audit(event: str, connection: HTTPConnection | None = None, **fields: Any) -> None:
    """Log one audit event (WARNING for refusals, INFO otherwise) with the context of the
    request or websocket (``method`` is ``WEBSOCKET`` for a websocket handshake)."""
    record: dict[str, Any] = {"event": event, **fields}
    if connection is not None:
        client = connection.client
        record.update(
            path=connection.url.path,
            method=connection.scope.get("method", "WEBSOCKET"),
            client=client.host if client else None,
        )
    level = (
        logging.WARNING if event.endswith(("_failed", "_denied", "_throttled")) else logging.INFO
    )
    AUDIT_LOGGER.log(level, event, extra={"audit": record})
