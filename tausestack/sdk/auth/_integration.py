"""FastAPI dependencies: the current user, and role and permission checks.

They answer 401 (with ``WWW-Authenticate: Bearer``) for a missing or invalid token and 403
for a disabled user or a missing role or permission, always with a reason code::

    {"detail": {"reason": "token_expired", "message": "The token has expired."}}
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ...settings import Settings
from .._context import component_of
from .audit import audit
from .base import AbstractAuthBackend, User
from .errors import AuthenticationError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

_bearer = HTTPBearer(auto_error=False, description="A token from the configured auth backend.")


def backend_of(request: Request) -> AbstractAuthBackend:
    """The auth backend of the application serving ``request``."""
    from ._providers import auth_backend

    container = request.app.container
    return component_of(container, AbstractAuthBackend, lambda c: auth_backend(c.get(Settings), c))


def unauthorized(reason: str, message: str) -> HTTPException:
    """A 401 with a reason code and ``WWW-Authenticate``."""
    description = message.replace('"', "'")
    error = "invalid_request" if reason == "missing_token" else "invalid_token"
    return HTTPException(
        status_code=401,
        detail={"reason": reason, "message": message},
        headers={"WWW-Authenticate": f'Bearer error="{error}", error_description="{description}"'},
    )


def forbidden(reason: str, message: str) -> HTTPException:
    """A 403 with a reason code."""
    return HTTPException(status_code=403, detail={"reason": reason, "message": message})


async def get_optional_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The user of the request's bearer token (or session cookie, with a backend that has
    sessions), None without either; 401 for a bad one."""
    if credentials is None:
        return await _session_user(request)
    try:
        user = await backend_of(request).averify_token(credentials.credentials)
    except AuthenticationError as exc:
        audit("authentication_failed", request, reason=exc.reason)
        raise unauthorized(exc.reason, str(exc)) from None
    if user.disabled:
        audit("permission_denied", request, reason="user_disabled", user_id=user.id)
        raise forbidden("user_disabled", "This account is disabled.")
    request.state.user = user
    return user


async def _session_user(request: Request) -> User | None:
    """The user of a session cookie (``tausestack.contrib.auth``); unsafe methods must carry
    the session's CSRF token in the header or a ``csrf_token`` form field."""
    settings = request.app.settings.auth.sessions
    token = request.cookies.get(settings.cookie)
    if not token:
        return None
    backend = backend_of(request)
    session_user = getattr(backend, "session_user", None)
    if session_user is None:
        return None
    try:
        user: User = await anyio.to_thread.run_sync(session_user, token)
    except AuthenticationError as exc:
        # The browser sends a revoked or expired cookie with every request and scripts cannot
        # remove an HttpOnly cookie: anonymous where a user is optional, 401 where required.
        request.state.session_refusal = exc
        return None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(settings.csrf_header)
        if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            field = (await request.form()).get("csrf_token")
            sent = field if isinstance(field, str) else None
        expected = backend.csrf_token(token)  # type: ignore[attr-defined]
        if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
            audit("permission_denied", request, reason="csrf_failed", user_id=user.id)
            raise forbidden(
                "csrf_failed",
                f"A {request.method} with a session cookie needs the session's CSRF token in the "
                f"{settings.csrf_header} header or a csrf_token form field.",
            )
    if user.disabled:
        audit("permission_denied", request, reason="user_disabled", user_id=user.id)
        raise forbidden("user_disabled", "This account is disabled.")
    request.state.user = user
    return user


async def get_current_user(
    request: Request, user: Annotated[User | None, Depends(get_optional_user)]
) -> User:
    """The user of the request's bearer token; 401 without one."""
    if user is None:
        refusal: AuthenticationError | None = getattr(request.state, "session_refusal", None)
        if refusal is not None:
            audit("authentication_failed", request, reason=refusal.reason)
            raise unauthorized(refusal.reason, str(refusal))
        audit("authentication_failed", request, reason="missing_token")
        raise unauthorized("missing_token", "This needs a bearer token (Authorization header).")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
"""A route parameter typed ``CurrentUser`` gets the authenticated user (401 otherwise)."""
OptionalUser = Annotated[User | None, Depends(get_optional_user)]
"""A route parameter typed ``OptionalUser`` gets the user, or None without a token."""


def require_roles(*roles: str) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency that lets through users with every one of ``roles`` (403 otherwise).

    Example::

        @get("/admin", dependencies=[Depends(require_roles("admin"))])
    """
    if not roles or not all(isinstance(role, str) and role for role in roles):
        raise ValueError("require_roles() needs one or more role names.")

    async def check_roles(request: Request, user: CurrentUser) -> User:
        missing = [role for role in roles if role not in user.roles]
        if missing:
            audit("permission_denied", request, reason="missing_role", user_id=user.id)
            raise forbidden("missing_role", f"This needs the role(s): {', '.join(missing)}.")
        return user

    return check_roles


def require_permissions(*permissions: str) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency that lets through users whose roles grant every one of ``permissions``,
    per the ``auth.permissions`` role → permissions map (403 otherwise)."""
    if not permissions or not all(isinstance(name, str) and name for name in permissions):
        raise ValueError("require_permissions() needs one or more permission names.")

    async def check_permissions(request: Request, user: CurrentUser) -> User:
        grants: dict[str, list[str]] = request.app.settings.auth.permissions
        granted = {name for role in user.roles for name in grants.get(role, ())}
        if "*" in granted:
            return user
        missing = [name for name in permissions if name not in granted]
        if missing:
            audit("permission_denied", request, reason="missing_permission", user_id=user.id)
            raise forbidden(
                "missing_permission", f"This needs the permission(s): {', '.join(missing)}."
            )
        return user

    return check_permissions
