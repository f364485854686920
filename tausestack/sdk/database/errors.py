"""Errors of ``tausestack.sdk.database``; every one says what to change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...errors import TauseStackError

__all__ = [
    "DatabaseConfigurationError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DuplicateRecordError",
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
    """A page number or size, a limit or an offset out of range: a 400 response when it came
    with a request."""


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
    """No row has the requested primary key: a 404 response when it escapes a route."""


class DuplicateRecordError(DatabaseError):
    """A row with the same value in a unique column (or primary key) already exists.

    Nothing of that write was written (it ran in a savepoint); earlier writes of the same
    request or transaction are kept, so code may catch this error and go on. In a request it
    becomes a 409 response naming the table, the columns and the constraint, never the values.
    """

    def __init__(
        self, model: str, table: str, columns: Sequence[str], constraint: str | None
    ) -> None:
        self.model = model
        self.table = table
        self.columns = tuple(columns)
        self.constraint = constraint
        where = f"{table} ({', '.join(self.columns)})" if self.columns else table
        rule = f"the unique constraint {constraint} on {where}" if constraint else where
        what = " and ".join(self.columns) or "unique values"
        super().__init__(
            f"A {model} with the same {what} already exists ({rule}); nothing was written. "
            "Use another value, or change the existing row."
        )
