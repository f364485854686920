"""The table models of the installed apps, found without importing Alembic.

Migrations compare them with the database (:mod:`.migrations`); the database's check looks for
their tables (:mod:`._checks`) at every start, where importing Alembic would cost time for
nothing in a project without migrations.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from sqlalchemy import MetaData, Table

from ...discovery import Discovery

#: The project's folder of Alembic revisions (``<project>/migrations``).
MIGRATIONS_FOLDER = "migrations"


def table_metadata(discovery: Discovery) -> tuple[MetaData | list[MetaData], list[Table]]:
    """The metadata holding the installed apps' table models, and those tables.

    A table model is a class with a ``__table__`` (SQLModel ``table=True`` models, SQLAlchemy
    declarative classes) defined in any imported module of an installed app's package — the
    modules discovery imports and everything they import from the app (``apps/shop/domain/``
    included). Several ``MetaData`` objects (one per declarative base) come back as a list,
    none as an empty one.
    """
    metadata: dict[int, MetaData] = {}
    tables: dict[int, Table] = {}
    packages = [app.name for app in discovery.apps]
    for name, module in list(sys.modules.items()):
        if module is None or not any(name == p or name.startswith(p + ".") for p in packages):
            continue
        for table in _tables_defined_in(name, vars(module).values()):
            metadata.setdefault(id(table.metadata), table.metadata)
            tables.setdefault(id(table), table)
    found = list(metadata.values())
    if len(found) == 1:
        return found[0], list(tables.values())
    return (found or MetaData()), list(tables.values())


def _tables_defined_in(module: str, values: Iterable[object]) -> Iterable[Table]:
    for value in values:
        if isinstance(value, type) and value.__module__ == module:
            table = getattr(value, "__table__", None)
            if isinstance(table, Table):
                yield table
        elif isinstance(value, Table):  # an association table written with Table(...)
            yield value
