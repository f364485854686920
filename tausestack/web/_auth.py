"""``auth_required=`` and ``roles=`` on controllers and routes, as FastAPI dependencies.

They become ``Depends(get_current_user)`` and ``Depends(require_roles(...))`` from
``tausestack.sdk.auth``, imported only by apps that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import Depends, params

from ..errors import ControllerDefinitionError

#: The route keywords TauseStack adds to FastAPI's.
AUTH_KEYWORDS = frozenset({"auth_required", "roles"})


def auth_dependencies(auth_required: Any, roles: Any, where: str) -> list[params.Depends]:
    """The dependencies that enforce ``auth_required`` and ``roles`` (``roles`` implies auth)."""
    if not isinstance(auth_required, bool):
        raise ControllerDefinitionError(f"{where}: auth_required must be True or False.")
    if roles is not None and (
        isinstance(roles, str)
        or not isinstance(roles, Sequence)
        or not roles
        or not all(isinstance(role, str) and role for role in roles)
    ):
        raise ControllerDefinitionError(
            f"{where}: roles must be a non-empty list of role names, such as roles=['admin']."
        )
    if roles:
        from ..sdk.auth import require_roles

        return [Depends(require_roles(*roles))]
    if auth_required:
        from ..sdk.auth import get_current_user

        return [Depends(get_current_user)]
    return []
