"""The table names the installed apps define, read from their source without importing them.

``new-app`` and ``generate model`` name a new table; two models of one name would make
SQLAlchemy refuse the project (``Table 'item' is already defined``) when discovery imports
them, so the commands check first. Reading the source keeps them fast (importing the apps
would import FastAPI and the project's own code) and works on a project that does not import.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterable, Iterator
from pathlib import Path

from ._output import BadInput

#: PostgreSQL cuts longer identifiers short (NAMEDATALEN - 1), so migrations would not match.
MAX_TABLE_NAME = 63


def check_new_table(
    table: str, root: Path, installed_apps: Iterable[str], *, replacing: Path | None = None
) -> None:
    """Raise BadInput when ``table`` is too long or an installed app defines it already.

    ``replacing`` is a file about to be overwritten (``generate --force``): its tables go away.
    """
    if len(table) > MAX_TABLE_NAME:
        raise BadInput(
            f"The table name {table} is {len(table)} characters long; PostgreSQL keeps "
            f"{MAX_TABLE_NAME}. Choose a shorter name."
        )
    for path, name in defined_tables(root, installed_apps):
        if name == table and path != replacing:
            where = path.relative_to(root) if path.is_relative_to(root) else path
            raise BadInput(
                f"The table {table} is defined already, in {where}; choose another name "
                "(generated tables are named APP_NAME, an app's own table after the app)."
            )


def defined_tables(root: Path, installed_apps: Iterable[str]) -> Iterator[tuple[Path, str]]:
    """``(file, table name)`` of every table model in the installed apps' source."""
    for app in installed_apps:
        for path in _source_files(root, app):
            try:
                module = ast.parse(path.read_bytes())
            except (SyntaxError, ValueError, OSError):
                continue  # discovery will say what is wrong with it
            for node in ast.walk(module):
                if isinstance(node, ast.ClassDef):
                    name = _table_name(node)
                    if name is not None:
                        yield path.resolve(), name


def _table_name(node: ast.ClassDef) -> str | None:
    """``__tablename__`` when the class sets it, else SQLModel's default for ``table=True``."""
    for statement in node.body:
        targets = (
            statement.targets
            if isinstance(statement, ast.Assign)
            else [statement.target]
            if isinstance(statement, ast.AnnAssign)
            else []
        )
        value = getattr(statement, "value", None)
        for target in targets:
            is_name = isinstance(target, ast.Name) and target.id == "__tablename__"
            if is_name and isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    for keyword in node.keywords:
        if keyword.arg == "table" and isinstance(keyword.value, ast.Constant):
            return node.name.lower() if keyword.value.value is True else None
    return None


def _source_files(root: Path, app: str) -> list[Path]:
    """The Python files of an installed app: a project folder, or an installed package."""
    local = root.joinpath(*app.split("."))
    if local.is_dir():
        return _python_files(local)
    if local.with_suffix(".py").is_file():
        return [local.with_suffix(".py")]
    try:
        spec = importlib.util.find_spec(app)
    except (ImportError, ValueError):
        return []
    if spec is None or spec.origin is None:
        return []
    origin = Path(spec.origin)
    return _python_files(origin.parent) if origin.name == "__init__.py" else [origin]


def _python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)
