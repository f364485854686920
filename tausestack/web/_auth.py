"""``auth_required=`` and ``roles=`` on controllers and routes, as FastAPI dependencies.

They become ``Depends(get_current_user)`` and ``Depends(require_roles(...))`` from
``tausestack.sdk.auth``, imported only by apps that use them. The OpenAPI document of an app
whose routes authenticate says what they answer (see ``tausestack.sdk.auth._openapi``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI, params

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


def document_auth(app: FastAPI) -> None:
    """Complete the app's OpenAPI document with what its auth dependencies answer (401/403
    and their body) and how to log in, each time FastAPI generates it (once per route set)."""
    generate = app.openapi
    completed: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        schema = generate()
        if not completed or completed[0] is not schema:
            # No route can authenticate unless something imported the dependencies.
            if "tausestack.sdk.auth._integration" in sys.modules:
                from ..sdk.auth._openapi import document

                document(app, schema)
            completed[:] = [schema]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
