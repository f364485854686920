"""Validation of project, app and component names, and the spellings templates need.

One rule names the packages and modules the commands write: snake_case. ``new-app Todos2`` makes
``apps/todos2`` as ``generate model InvoiceItems`` makes ``models/invoice_items.py``; class names
are the PascalCase of the same words (``Todos2Settings``, ``InvoiceItems``).
"""

from __future__ import annotations

import keyword
import re
import sys

from .._naming import snake_case
from ._output import BadInput

#: Names a project or app cannot take: they would shadow what the project itself imports.
RESERVED = frozenset({"apps", "main", "tests", "tausestack", "fastapi", "starlette", "pydantic"})
MAX_LENGTH = 64
#: Apps and components become module and class names in generated code, which stays within
#: the project's 100 columns up to this length.
MAX_CODE_NAME_LENGTH = 40
#: Words whose plural looks like a singular; `singular` leaves them alone.
UNCOUNTABLE = frozenset({"news", "series", "species", "status", "analysis", "data"})


def check_name(kind: str, name: str, given: str | None = None) -> str:
    """Return ``name`` if it can name a project or app, else raise BadInput saying why.

    ``given`` is what the user typed when ``name`` was derived from it (``Todos2`` for
    ``todos2``); messages then show both.
    """
    label = f"'{name}'" if given is None or given == name else f"'{given}' (package '{name}')"
    if not name.isascii():
        raise BadInput(f"{kind} name {label} must use ASCII letters, digits and underscores only.")
    if not name.isidentifier():
        suggestion = re.sub(r"\W+", "_", name.strip()).strip("_").lower()
        hint = f" Try '{suggestion}'." if suggestion.isidentifier() and suggestion != name else ""
        raise BadInput(
            f"{kind} name {label} is not a Python identifier (letters, digits and "
            f"underscores, not starting with a digit).{hint}"
        )
    if name.startswith("_") or name.endswith("_"):
        raise BadInput(f"{kind} name {label} must not start or end with '_'.")
    if len(name) > MAX_LENGTH:
        raise BadInput(f"{kind} name '{name[:20]}…' is longer than {MAX_LENGTH} characters.")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise BadInput(f"{kind} name {label} is a Python keyword; choose another name.")
    if name in sys.stdlib_module_names:
        raise BadInput(
            f"{kind} name {label} is a standard-library module and would shadow it; "
            f"choose another name, e.g. '{name}_app'."
        )
    if name in RESERVED:
        raise BadInput(f"{kind} name {label} is reserved by the project layout; choose another.")
    return name


def app_name(given: str) -> str:
    """The package name of an app called ``given``: snake_case, checked.

    ``Todos2`` gives ``todos2``, ``OrderItems`` and ``order-items`` give ``order_items``; the
    result must pass :func:`check_name` and must not be a key of TauseStack's own settings.
    """
    from ..settings import Settings

    name = snake(given)
    if not name.isascii() or not name.isidentifier():
        check_name("App", given)  # says what is wrong with what was typed
    check_name("App", name, given)
    if len(name) > MAX_CODE_NAME_LENGTH:
        raise BadInput(
            f"App name '{name[:20]}…' is longer than {MAX_CODE_NAME_LENGTH} characters; its "
            "classes' names would be longer still. Choose a shorter name."
        )
    if name in Settings.model_fields:
        raise BadInput(
            f"App name '{name}' is a key of TauseStack's own settings, and the app's settings "
            "section would use it too; choose another name."
        )
    return name


def snake(given: str) -> str:
    """``InvoiceItems``, ``invoice-items`` and ``invoice__items`` all give ``invoice_items``."""
    return re.sub(r"_+", "_", snake_case(given.strip().replace("-", "_")))


def component_names(raw: str) -> dict[str, str]:
    """Spellings of a component name: ``order-items`` gives order_items, OrderItems, order-items."""
    snake_name = snake(raw).strip("_")
    if keyword.iskeyword(snake_name) or keyword.issoftkeyword(snake_name):
        raise BadInput(f"'{raw}' cannot name a component: '{snake_name}' is a Python keyword.")
    too_long = len(snake_name) > MAX_CODE_NAME_LENGTH
    if not snake_name.isidentifier() or not snake_name.isascii() or too_long:
        raise BadInput(
            f"'{raw}' cannot name a component: use ASCII letters, digits, '_' or '-' (at most "
            f"{MAX_CODE_NAME_LENGTH}), starting with a letter, e.g. 'invoices'."
        )
    return {
        "name": snake_name,
        "Name": pascal(snake_name),
        "route": snake_name.replace("_", "-"),
        "words": snake_name.replace("_", " "),
        "a_words": with_article(snake_name.replace("_", " ")),
    }


def with_article(words: str) -> str:
    """``an item``, ``a user``, ``an hour``: "a" or "an" by how the first word usually sounds."""
    first = words.lower()
    if first.startswith(_VOWEL_SOUNDING_CONSONANTS):
        return f"an {words}"
    vowel = first[:1] in "aeiou" and not first.startswith(_CONSONANT_SOUNDING_VOWELS)
    return f"an {words}" if vowel else f"a {words}"


#: Words whose first letter misleads: "a user", "a one-off", "an hour", "an honest".
_CONSONANT_SOUNDING_VOWELS = ("uni", "use", "usu", "uti", "ura", "eu", "one", "once")
_VOWEL_SOUNDING_CONSONANTS = ("hour", "honest", "honor", "honour", "heir")


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
