"""What TauseStack adds to Alembic's autogenerate: server defaults for columns added to tables.

A column added to a table that has rows needs a value for those rows. Alembic writes
``add_column(..., nullable=False)`` with no server default, which fails on SQLite ("Cannot add
a NOT NULL column with default value NULL") and on any PostgreSQL table with rows. A model's
default lives in Python, not in the database; when it is a constant (a string, a number, a
boolean, an enum member, a date), this module writes it into the migration as the column's
``server_default``, so existing rows get it. When there is none, the revision is refused with
what to do, as Django's ``makemigrations`` asks for a one-off default.

The SQL of each default is written the same whatever the database the revision is made
against (``sa.text('false')``, not the dialect's ``(0)``), and means the same on SQLite,
PostgreSQL and MySQL, so a revision made on one runs on the others.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from alembic.operations import ops
from sqlalchemy import Column, Enum, text
from sqlalchemy.schema import DefaultClause
from sqlalchemy.sql.elements import TextClause

from .errors import MigrationError

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import MigrationScript
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Dialect

__all__ = ["fill_server_defaults", "render_item"]


class _ModelDefault(DefaultClause):
    """A server default made from the model's default, written as it is by :func:`render_item`."""


def fill_server_defaults(migration: MigrationContext, directives: list[MigrationScript]) -> None:
    """Give each NOT NULL column the revisions add a server default from the model's default.

    Raises:
        MigrationError: a NOT NULL column added to an existing table has no constant default
            (none at all, or one computed in Python); nothing is written.
    """
    problems: list[str] = []
    for script in directives:
        for upgrade in script.upgrade_ops_list:
            for operation in _added_columns(upgrade):
                column = operation.column
                if column.nullable or column.server_default is not None or column.primary_key:
                    continue
                try:
                    default = _server_default(column, migration.dialect)
                except _NoConstantDefault as exc:
                    problems.append(_refusal(operation.table_name, column, str(exc)))
                    continue
                # A copy, not the model's own column: the application's metadata stays as it is.
                filled = column._copy()
                filled.server_default = _ModelDefault(default)
                operation.column = filled
    if problems:
        raise MigrationError(
            " ".join(problems) + " No revision was written; run makemigrations again after "
            "the change."
        )


def render_item(kind: str, item: Any, autogen: AutogenContext) -> str | bool:
    """Alembic's render_item hook: a model default's SQL as written, not as the dialect of the
    database at hand would put it (SQLite wraps ``false`` in parentheses)."""
    if kind != "server_default" or not isinstance(item, _ModelDefault):
        return False
    if not isinstance(item.arg, TextClause):
        return False  # a string: Alembic writes it quoted, the same on every database
    prefix = autogen.opts.get("sqlalchemy_module_prefix") or "sa."
    return f"{prefix}text({item.arg.text!r})"


def _added_columns(container: Any) -> Iterator[ops.AddColumnOp]:
    for operation in getattr(container, "ops", ()):
        if isinstance(operation, ops.AddColumnOp):
            yield operation
        elif isinstance(operation, ops.OpContainer):
            yield from _added_columns(operation)


class _NoConstantDefault(Exception):
    """Why a column has no constant default to write into a migration."""


def _server_default(column: Column[Any], dialect: Dialect) -> str | TextClause:
    """The column's default as a server default."""
    default = column.default
    if default is None:
        raise _NoConstantDefault("has no default")
    if not getattr(default, "is_scalar", False):
        raise _NoConstantDefault("its default is computed in Python (a function or an expression)")
    value = default.arg  # type: ignore[attr-defined]
    if isinstance(value, enum.Enum):
        if isinstance(column.type, Enum):  # stored as the name (or values_callable's value)
            process = column.type.bind_processor(dialect)  # type: ignore[no-untyped-call]
            value = process(value) if process is not None else value.name
        else:
            value = value.value
    return _literal(value)


def _literal(value: Any) -> str | TextClause:
    """SQL for a constant: text for strings and dates (quoted by SQLAlchemy), a number as
    it is written, ``true``/``false`` (understood by SQLite 3.23+, PostgreSQL and MySQL)."""
    if isinstance(value, bool):
        return text("true" if value else "false")
    if isinstance(value, int):
        return text(str(value))
    if isinstance(value, float | decimal.Decimal):
        finite = math.isfinite(value) if isinstance(value, float) else value.is_finite()
        if not finite:
            raise _NoConstantDefault(f"its default ({value}) is not a finite number")
        return text(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, str):
        # Alembic strips one quote from each end of a string default when it writes it.
        if value.startswith("'") or value.endswith("'"):
            raise _NoConstantDefault("its default starts or ends with a quote (Alembic drops it)")
        return value
    if isinstance(value, datetime.date | datetime.time):  # datetime is a date
        return str(value)
    raise _NoConstantDefault(f"its default (a {type(value).__name__}) has no SQL form here")


def _refusal(table: str, column: Column[Any], why: str) -> str:
    name = column.name
    kind = _python_type(column)
    return (
        f"The new column {table}.{name} is NOT NULL and {why}, so the rows already in {table} "
        f"would have no value for it. Give the field a constant default "
        f"({name}: {kind} = ...), make it optional ({name}: {kind} | None = None), or give the "
        f'column a server default (Field(sa_column_kwargs={{"server_default": "..."}}), or '
        "mapped_column(server_default=...))."
    )


def _python_type(column: Column[Any]) -> str:
    """``str`` for a string column (SQLModel's AutoString is a TypeDecorator of one)."""
    kind = getattr(column.type, "impl_instance", column.type)
    try:
        return str(kind.python_type.__name__)
    except NotImplementedError:
        return "type"
