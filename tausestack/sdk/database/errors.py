"""Errors of ``tausestack.sdk.database``; every one says what to change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import TauseStackError

__all__ = [
    "DatabaseConfigurationError",
    "DatabaseConnectionError",
    "DatabaseError",
    "InvalidCursorError",
    "InvalidDataError",
    "InvalidFilterError",
    "InvalidPageError",
    "MigrationError",
    "RecordNotFoundError",
]


class DatabaseError(TauseStackError):
    """Base class of the database errors."""


class DatabaseConfigurationError(DatabaseError):
    """The ``database:`` settings cannot work (malformed URL, missing driver, bad backend)."""


class DatabaseConnectionError(DatabaseError):
    """The database could not be reached; the message names host and driver, never the password."""


class MigrationError(DatabaseError):
    """A migration cannot be written or applied as asked; the message says what to change."""


class InvalidFilterError(DatabaseError):
    """A filter names a field the model does not have, or an operator that does not exist."""


class InvalidPageError(InvalidFilterError):
    """A page number or page size out of range: a 400 response when it came with a request."""


class InvalidDataError(DatabaseError, ValueError):
    """Data given to ``create``/``update`` does not fit the model's fields.

    Nothing was written. In a request it becomes a 422 response shaped like FastAPI's
    validation errors, one entry per field (``loc`` ``["body", "name"]``), without the input
    values. ``errors()`` gives pydantic's error dictionaries.
    """

    def __init__(self, model: str, errors: Sequence[Mapping[str, Any]]) -> None:
        self.model = model
        self._errors = [dict(error) for error in errors]
        fields = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or model}: {error['msg']}"
            for error in errors
        )
        super().__init__(f"Invalid data for {model}: {fields}. Nothing was changed.")

    def errors(self) -> list[dict[str, Any]]:
        """Pydantic's error dictionaries (``type``, ``loc``, ``msg``, ``input``…), one per
        problem."""
        return list(self._errors)


class InvalidCursorError(DatabaseError):
    """A pagination cursor was not made by this repository (or was tampered with)."""


class RecordNotFoundError(DatabaseError):
    """No row has the requested primary key."""
