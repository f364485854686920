"""``${secret:NAME}`` in settings values, replaced by the secret when the application is built.

A reference may stand for a whole value or part of one (``postgresql://app:${secret:DB_PW}@db``)
and may pick a field of a JSON secret (``${secret:db#password}``). References work in string
and ``SecretStr`` settings, in nested sections and in lists and mappings of strings. The
secrets come from the backend the ``secrets:`` section chooses, which cannot itself use
references. A missing secret stops the application with the setting and the secret named —
never a value. A string that held a reference becomes a ``ResolvedText``: the settings'
reprs, ``str`` and ``model_dump_json()`` show it as written with ``********`` for each
reference, whatever the name of its field.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, SecretStr

from ..._redaction import REDACTED, ResolvedText
from ...settings import Settings
from .errors import SecretsConfigurationError

if TYPE_CHECKING:
    from ._secrets import Secrets

REFERENCE = re.compile(r"\$\{secret:([^}#]*)(?:#([^}]*))?\}")

# (container, key or index or attribute, the value, where it is: "database.url")
_Slot = tuple[Any, Any, str | SecretStr, str]


def resolve_references(settings: Settings) -> Settings:
    """Replace every reference in ``settings`` (in place) and return them."""
    slots = list(_slots(settings, ""))
    if not slots:
        return settings
    inside = [where for *_, where in slots if where.startswith("secrets.")]
    if inside:
        raise SecretsConfigurationError(
            f"{inside[0]} refers to a secret, but the secrets: settings choose where secrets "
            "come from and cannot themselves come from a secret. Set it directly."
        )
    from ._secrets import Secrets

    secrets = Secrets(settings)
    for container, slot, value, where in slots:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        resolved = REFERENCE.sub(functools.partial(_secret, secrets, where=where), text)
        new: str | SecretStr
        if isinstance(value, SecretStr):
            new = SecretStr(resolved)
        else:  # shown to people as written, each reference masked, whatever the field's name
            new = ResolvedText(resolved, REFERENCE.sub(REDACTED, text))
        if isinstance(container, BaseModel):
            object.__setattr__(container, slot, new)
        else:
            container[slot] = new
    return settings


def _secret(secrets: Secrets, match: re.Match[str], *, where: str) -> str:
    name, field = match.group(1), match.group(2)
    if not name.strip():
        raise SecretsConfigurationError(
            f"{where} has an empty secret reference {match.group(0)!r}; write ${{secret:NAME}}."
        )
    value = secrets.get(name, field=field)
    if value is None:
        part = f" field {field!r} of" if field else ""
        fix = secrets.dotenv_hint(name) or "Add the secret, or fix the reference."
        raise SecretsConfigurationError(
            f"{where} refers to{part} secret {name!r}, which is not in "
            f"{secrets.backend.describe()}. {fix}"
        )
    text: str = value.get_secret_value()
    return text


def _slots(value: Any, where: str) -> Iterator[_Slot]:
    if isinstance(value, BaseModel):
        names = list(type(value).model_fields) + list(value.model_extra or {})
        for name in names:
            child: Any = getattr(value, name, None)
            path = f"{where}.{name}" if where else name
            if _referring(child):
                yield value, name, child, path
            else:
                yield from _slots(child, path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if _referring(child):
                yield value, index, child, f"{where}[{index}]"
            else:
                yield from _slots(child, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, child in value.items():
            if _referring(child):
                yield value, key, child, f"{where}.{key}"
            else:
                yield from _slots(child, f"{where}.{key}")


def _referring(value: Any) -> bool:
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return isinstance(value, str) and "${secret:" in value
