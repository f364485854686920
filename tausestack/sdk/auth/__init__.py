"""Authentication: verify bearer tokens, know the user, check roles and permissions.

Configure a backend (``auth.backend: jwt`` with ``tausestack.contrib.auth`` installed,
``firebase``, or ``oidc`` with ``auth.oidc.issuer`` and ``audience``), then
type a route parameter ``CurrentUser`` (401 without a valid token) or ``OptionalUser``, or add
``Depends(require_roles("admin"))`` / ``Depends(require_permissions("articles:write"))``. The
backend is injectable as ``AbstractAuthBackend``. See ``docs/auth.md``.
"""

from __future__ import annotations

from ..settings import (
    AuthSessionSettings,
    AuthSettings,
    FirebaseSettings,
    JwtSettings,
    OidcSettings,
)
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
    InvalidUserDataError,
    OperationNotSupportedError,
    PermissionDeniedError,
    UserExistsError,
    UserNotFoundError,
)

__all__ = [
    "AbstractAuthBackend",
    "AuthConfigurationError",
    "AuthError",
    "AuthSessionSettings",
    "AuthSettings",
    "AuthenticationError",
    "CurrentUser",
    "FirebaseSettings",
    "InvalidUserDataError",
    "JwtSettings",
    "OidcSettings",
    "OperationNotSupportedError",
    "OptionalUser",
    "PermissionDeniedError",
    "User",
    "UserExistsError",
    "UserNotFoundError",
    "get_current_user",
    "get_optional_user",
    "require_permissions",
    "require_roles",
]
