"""Errors of ``tausestack.sdk.database``; every one says what to change."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "DatabaseConfigurationError",
    "DatabaseConnectionError",
    "DatabaseError",
    "InvalidCursorError",
    "InvalidFilterError",
    "RecordNotFoundError",
]


class DatabaseError(TauseStackError):
    """Base class of the database errors."""


class DatabaseConfigurationError(DatabaseError):
    """The ``database:`` settings cannot work (malformed URL, missing driver, bad backend)."""


class DatabaseConnectionError(DatabaseError):
    """The database could not be reached; the message names host and driver, never the password."""


class InvalidFilterError(DatabaseError):
    """A filter names a field the model does not have, or an operator that does not exist."""


class InvalidCursorError(DatabaseError):
    """A pagination cursor was not made by this repository (or was tampered with)."""


class RecordNotFoundError(DatabaseError):
    """No row has the requested primary key."""
