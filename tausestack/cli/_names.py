"""Validation of project, app and component names, and the spellings templates need."""

from __future__ import annotations

import keyword
import re
import sys

from .._naming import snake_case
from ._output import BadInput

#: Names a project or app cannot take: they would shadow what the project itself imports.
RESERVED = frozenset({"apps", "main", "tests", "tausestack", "fastapi", "starlette", "pydantic"})


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it can name a project or app, else raise BadInput saying why."""
    if not name.isidentifier() or not name.isascii():
        suggestion = re.sub(r"\W+", "_", name.strip()).strip("_").lower()
        hint = f" Try '{suggestion}'." if suggestion.isidentifier() else ""
        raise BadInput(
            f"{kind} name '{name}' is not a Python identifier (letters, digits and "
            f"underscores, not starting with a digit).{hint}"
        )
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise BadInput(f"{kind} name '{name}' is a Python keyword; choose another name.")
    if name in sys.stdlib_module_names:
        raise BadInput(
            f"{kind} name '{name}' is a standard-library module and would shadow it; "
            f"choose another name, e.g. '{name}_app'."
        )
    if name in RESERVED:
        raise BadInput(f"{kind} name '{name}' is reserved by the project layout; choose another.")
    return name


def component_names(raw: str) -> dict[str, str]:
    """Spellings of a component name: ``order-items`` gives order_items, OrderItems, order-items."""
    snake = snake_case(raw.replace("-", "_")).strip("_")
    snake = re.sub(r"_+", "_", snake)
    if not snake.isidentifier() or keyword.iskeyword(snake) or not snake.isascii():
        raise BadInput(
            f"'{raw}' cannot name a component: use letters, digits, '_' or '-', e.g. 'invoices'."
        )
    pascal = "".join(part.capitalize() for part in snake.split("_"))
    return {"name": snake, "Name": pascal, "route": snake.replace("_", "-")}


def singular(name: str) -> str:
    """A plain English singular for template names: notes -> note, billing -> billing."""
    if name.endswith("ies") and len(name) > 4:
        return name[:-3] + "y"
    if name.endswith("s") and not name.endswith("ss") and len(name) > 3:
        return name[:-1]
    return name
