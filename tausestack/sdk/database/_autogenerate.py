"""What TauseStack adds to Alembic's autogenerate: server defaults for columns added to tables,
and the enum types their columns need.

A column added to a table that has rows needs a value for those rows. Alembic writes
``add_column(..., nullable=False)`` with no server default, which fails on SQLite ("Cannot add
a NOT NULL column with default value NULL") and on any PostgreSQL table with rows. A model's
default lives in Python, not in the database; when it is a constant (a string, a number, a
boolean, an enum member, a date), this module writes it into the migration as the column's
``server_default``, so existing rows get it. When there is none, the revision is refused with
what to do, as Django's ``makemigrations`` asks for a one-off default.

The SQL of each default is written the same whatever the database the revision is made
against (``sa.text('false')``, not the dialect's ``(0)``), and means the same on SQLite,
PostgreSQL and MySQL, so a revision made on one runs on the others, with one exception: a
datetime default of a timezone-aware column is written as UTC, with ``+00:00`` (left without an
offset, PostgreSQL would read it in the session's time zone), but without it on MySQL (whose
DATETIME has no zone, and MariaDB refuses the offset).

PostgreSQL keeps an enum as a type of its own (``CREATE TYPE mood AS ENUM …``), which Alembic's
``add_column`` does not create and ``create_table`` creates unconditionally (failing when an
earlier revision made it). So a revision first creates each enum type its new columns and
tables use, if missing (``sa.Enum(..., name="mood").create(op.get_bind(), checkfirst=True)``, a
no-op on databases without enum types), writes the columns' type as one that does not create
itself (``postgresql.ENUM(..., create_type=False)``, a plain enum elsewhere), and its downgrade
drops the types no column outside the revision uses.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeGuard

from alembic.autogenerate import renderers
from alembic.operations import ops
from sqlalchemy import Column, DateTime, Enum, MetaData, text
from sqlalchemy.schema import DefaultClause
from sqlalchemy.sql.elements import TextClause

from .errors import MigrationError

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.operations.ops import MigrationScript
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.engine import Dialect

__all__ = ["create_enum_types", "fill_server_defaults", "render_item"]


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
    database at hand would put it (SQLite wraps ``false`` in parentheses); a named enum as a
    type that does not create itself (the revision creates it first, see the module)."""
    if kind == "type" and _native_enum(item):
        autogen.imports.add("from sqlalchemy.dialects import postgresql")
        return f"postgresql.ENUM({_enum_arguments(item)}, create_type=False)"
    if kind != "server_default" or not isinstance(item, _ModelDefault):
        return False
    if not isinstance(item.arg, TextClause):
        return False  # a string: Alembic writes it quoted, the same on every database
    prefix = autogen.opts.get("sqlalchemy_module_prefix") or "sa."
    return f"{prefix}text({item.arg.text!r})"


class CreateEnumTypeOp(ops.MigrateOperation):
    """Create a named enum type unless it exists (PostgreSQL; nothing elsewhere)."""

    def __init__(self, enum: Enum) -> None:
        self.enum = enum


class DropEnumTypeOp(ops.MigrateOperation):
    """Drop a named enum type if it exists (PostgreSQL; nothing elsewhere)."""

    def __init__(self, enum: Enum) -> None:
        self.enum = enum


@renderers.dispatch_for(CreateEnumTypeOp)
def _render_create_enum(autogen: AutogenContext, operation: CreateEnumTypeOp) -> str:
    prefix = autogen.opts.get("sqlalchemy_module_prefix") or "sa."
    enum = f"{prefix}Enum({_enum_arguments(operation.enum)})"
    return f"{enum}.create(op.get_bind(), checkfirst=True)"


@renderers.dispatch_for(DropEnumTypeOp)
def _render_drop_enum(autogen: AutogenContext, operation: DropEnumTypeOp) -> str:
    prefix = autogen.opts.get("sqlalchemy_module_prefix") or "sa."
    enum = f"{prefix}Enum({_enum_arguments(operation.enum)})"
    return f"{enum}.drop(op.get_bind(), checkfirst=True)"


def create_enum_types(migration: MigrationContext, directives: list[MigrationScript]) -> None:
    """Create the enum types of the columns and tables the revisions add, before them; drop
    on downgrade those no other column of the models uses."""
    metadata = migration.opts.get("target_metadata")
    for script in directives:
        pairs = zip(script.upgrade_ops_list, script.downgrade_ops_list, strict=False)
        for upgrade, downgrade in pairs:
            added = list(_added_enum_columns(upgrade))
            if not added:
                continue
            needed = {_enum_key(enum): enum for _, enum in added}
            columns = {column for column, _ in added}
            used_elsewhere = {
                _enum_key(enum)
                for column, enum in _model_enum_columns(metadata)
                if column not in columns
            }
            upgrade.ops[:0] = [CreateEnumTypeOp(enum) for enum in needed.values()]
            downgrade.ops += [
                DropEnumTypeOp(enum) for key, enum in needed.items() if key not in used_elsewhere
            ]


def _native_enum(kind: Any) -> TypeGuard[Enum]:
    return isinstance(kind, Enum) and bool(kind.native_enum) and bool(kind.name)


def _enum_key(enum: Enum) -> tuple[str | None, str]:
    return enum.schema, str(enum.name)


def _enum_arguments(enum: Enum) -> str:
    arguments = [repr(value) for value in enum.enums]
    arguments.append(f"name={enum.name!r}")
    if enum.schema is not None:
        arguments.append(f"schema={enum.schema!r}")
    return ", ".join(arguments)


def _added_enum_columns(container: Any) -> Iterator[tuple[tuple[str, str], Enum]]:
    """``((table, column), enum)`` for each named enum column an added column or table has."""
    for operation in getattr(container, "ops", ()):
        if isinstance(operation, ops.AddColumnOp):
            found = [operation.column]
        elif isinstance(operation, ops.CreateTableOp):
            found = [item for item in operation.columns if isinstance(item, Column)]
        elif isinstance(operation, ops.OpContainer):
            yield from _added_enum_columns(operation)
            continue
        else:
            continue
        table = f"{operation.schema}.{operation.table_name}" if operation.schema else None
        for column in found:
            if _native_enum(column.type):
                yield (table or operation.table_name, column.name), column.type


def _model_enum_columns(
    metadata: MetaData | list[MetaData] | None,
) -> Iterator[tuple[tuple[str, str], Enum]]:
    """``((table, column), enum)`` for each named enum column of the models."""
    for meta in metadata if isinstance(metadata, list) else [metadata] if metadata else []:
        for table in meta.tables.values():
            for column in table.columns:
                if _native_enum(column.type):
                    yield (table.fullname, column.name), column.type


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
    if isinstance(value, datetime.datetime) and _aware(column):
        value = _utc(value, dialect)
    if isinstance(value, enum.Enum):
        if isinstance(column.type, Enum):  # stored as the name (or values_callable's value)
            process = column.type.bind_processor(dialect)  # type: ignore[no-untyped-call]
            value = process(value) if process is not None else value.name
        else:
            value = value.value
    return _literal(value)


def _utc(value: datetime.datetime, dialect: Dialect) -> datetime.datetime:
    """A timezone-aware column's default in UTC: naive means UTC, as SQLModel reads it. MySQL's
    DATETIME has no zone and MariaDB refuses a default with an offset, so there it has none."""
    value = value.replace(tzinfo=datetime.UTC) if value.tzinfo is None else value
    if dialect.name in ("mysql", "mariadb"):
        return value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def _aware(column: Column[Any]) -> bool:
    """Whether the column stores a time zone (``DateTime(timezone=True)``, even decorated)."""
    kind = getattr(column.type, "impl_instance", column.type)
    return isinstance(kind, DateTime) and bool(kind.timezone)


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
