"""Validation of project, app and component names, and the spellings templates need."""

from __future__ import annotations

import keyword
import re
import sys

from .._naming import snake_case
from ._output import BadInput

#: Names a project or app cannot take: they would shadow what the project itself imports.
RESERVED = frozenset({"apps", "main", "tests", "tausestack", "fastapi", "starlette", "pydantic"})
#: Names the generated code imports; an app's model class must not take one of them.
TEMPLATE_NAMES = frozenset(
    {"BaseModel", "Controller", "Field", "HTTPException", "Service", "SettingsSection"}
)
MAX_LENGTH = 64
#: Words whose plural looks like a singular; `singular` leaves them alone.
UNCOUNTABLE = frozenset({"news", "series", "species", "status", "analysis", "data"})


def check_name(kind: str, name: str) -> str:
    """Return ``name`` if it can name a project or app, else raise BadInput saying why."""
    if not name.isascii():
        raise BadInput(f"{kind} name '{name}' must use ASCII letters, digits and underscores only.")
    if not name.isidentifier():
        suggestion = re.sub(r"\W+", "_", name.strip()).strip("_").lower()
        hint = f" Try '{suggestion}'." if suggestion.isidentifier() and suggestion != name else ""
        raise BadInput(
            f"{kind} name '{name}' is not a Python identifier (letters, digits and "
            f"underscores, not starting with a digit).{hint}"
        )
    if name.startswith("_") or name.endswith("_"):
        raise BadInput(f"{kind} name '{name}' must not start or end with '_'.")
    if len(name) > MAX_LENGTH:
        raise BadInput(f"{kind} name '{name[:20]}…' is longer than {MAX_LENGTH} characters.")
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


def check_app_name(name: str) -> str:
    """``check_name`` plus what an app's name also becomes: a settings key and class names."""
    from ..settings import Settings

    check_name("App", name)
    if name in Settings.model_fields:
        raise BadInput(
            f"App name '{name}' is a key of TauseStack's own settings, and the app's settings "
            "section would use it too; choose another name."
        )
    model = pascal(singular(name))
    clashes = {model, f"{model}Create"} & TEMPLATE_NAMES
    if clashes:
        raise BadInput(
            f"App name '{name}' would name its model class {sorted(clashes)[0]}, which the "
            "generated code imports from a library; choose another name."
        )
    return name


def component_names(raw: str) -> dict[str, str]:
    """Spellings of a component name: ``order-items`` gives order_items, OrderItems, order-items."""
    snake = re.sub(r"_+", "_", snake_case(raw.replace("-", "_")).strip("_"))
    if keyword.iskeyword(snake) or keyword.issoftkeyword(snake):
        raise BadInput(f"'{raw}' cannot name a component: '{snake}' is a Python keyword.")
    if not snake.isidentifier() or not snake.isascii() or len(snake) > MAX_LENGTH:
        raise BadInput(
            f"'{raw}' cannot name a component: use ASCII letters, digits, '_' or '-' (at most "
            f"{MAX_LENGTH}), starting with a letter, e.g. 'invoices'."
        )
    return {"name": snake, "Name": pascal(snake), "route": snake.replace("_", "-")}


def pascal(snake: str) -> str:
    """``order_items`` -> ``OrderItems``."""
    return "".join(part.capitalize() for part in snake.split("_"))


def singular(name: str) -> str:
    """A plain English singular for template names: notes -> note, categories -> category."""
    head, _, last = name.rpartition("_")
    if last in UNCOUNTABLE or last.endswith(("ss", "us", "is")) or len(last) <= 3:
        return name
    if last.endswith("ies"):
        last = last[:-3] + "y"
    elif last.endswith(("sses", "xes", "ches", "shes")):
        last = last[:-2]
    elif last.endswith("s"):
        last = last[:-1]
    return f"{head}_{last}" if head else last
