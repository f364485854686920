"""Authentication: verify bearer tokens, know the user, check roles and permissions.

Configure a backend (``auth.backend: oidc`` with ``auth.oidc.issuer`` and ``audience``), then
type a route parameter ``CurrentUser`` (401 without a valid token) or ``OptionalUser``, or add
``Depends(require_roles("admin"))`` / ``Depends(require_permissions("articles:write"))``. The
backend is injectable as ``AbstractAuthBackend``. See ``docs/auth.md``.
"""

from __future__ import annotations

from ..settings import AuthSettings, OidcSettings
from ._integration import (
    CurrentUser,
    OptionalUser,
    get_current_user,
    get_optional_user,
    require_permissions,
    require_roles,
)
from .base import AbstractAuthBackend, User
from .errors import (
    AuthConfigurationError,
    AuthenticationError,
    AuthError,
    OperationNotSupportedError,
    PermissionDeniedError,
)

__all__ = [
    "AbstractAuthBackend",
    "AuthConfigurationError",
    "AuthError",
    "AuthSettings",
    "AuthenticationError",
    "CurrentUser",
    "OidcSettings",
    "OperationNotSupportedError",
    "OptionalUser",
    "PermissionDeniedError",
    "User",
    "get_current_user",
    "get_optional_user",
    "require_permissions",
    "require_roles",
]
