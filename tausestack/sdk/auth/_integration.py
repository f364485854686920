"""FastAPI dependencies: the current user, and role and permission checks.

They answer 401 (with ``WWW-Authenticate: Bearer``) for a missing or invalid token and 403
for a disabled user or a missing role or permission, always with a reason code::

    {"detail": {"reason": "token_expired", "message": "The token has expired."}}

Each is one FastAPI dependency (an ``HTTPBearer`` security scheme that verifies the token and
checks roles itself), not a chain: a chain of three dependencies cost an authenticated route
twice the framework time of the check itself.
"""

from __future__ import annotations

import hmac
import weakref
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer

from ...di._container import Container
from ...settings import Settings
from .._context import component_of
from .audit import audit
from .base import AbstractAuthBackend, User
from .errors import AuthenticationError

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SCHEME_NAME = "HTTPBearer"

#: Each application's backend, looked up once (and again when its singletons change).
_BACKENDS: weakref.WeakKeyDictionary[Container, AbstractAuthBackend] = weakref.WeakKeyDictionary()


def backend_of(request: Request) -> AbstractAuthBackend:
    """The auth backend of the application serving ``request``."""
    container: Container = request.app.container
    backend = _BACKENDS.get(container)
    if backend is None:
        from ._providers import auth_backend

        backend = component_of(
            container, AbstractAuthBackend, lambda c: auth_backend(c.get(Settings), c)
        )
        if container not in _BACKENDS:
            reference = weakref.ref(container)
            container.add_listener(lambda: _forget(reference))
        _BACKENDS[container] = backend
    return backend


def _forget(reference: weakref.ref[Container]) -> None:
    container = reference()
    if container is not None:
        _BACKENDS.pop(container, None)


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


class Authenticate(HTTPBearer):
    """A dependency that gives the request's user and enforces what is asked of them.

    ``required``: 401 without a token (else None); ``roles``: 403 unless the user has every
    one; ``permissions``: 403 unless the user's roles grant every one (``auth.permissions``).
    It is an ``HTTPBearer`` security scheme, so the OpenAPI document shows the lock.
    """

    def __init__(
        self,
        *,
        required: bool,
        roles: tuple[str, ...] = (),
        permissions: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            auto_error=False,
            scheme_name=SCHEME_NAME,
            description="A token from the configured auth backend.",
        )
        self.required = required or bool(roles or permissions)
        self.roles = roles
        self.permissions = permissions

    async def __call__(self, request: Request) -> User | None:  # type: ignore[override]
        user = await _user_of(request)
        if user is None:
            if not self.required:
                return None
            refusal: AuthenticationError | None = getattr(request.state, "session_refusal", None)
            if refusal is not None:
                audit("authentication_failed", request, reason=refusal.reason)
                raise unauthorized(refusal.reason, str(refusal))
            audit("authentication_failed", request, reason="missing_token")
            raise unauthorized("missing_token", "This needs a bearer token (Authorization header).")
        if self.roles:
            missing = [role for role in self.roles if role not in user.roles]
            if missing:
                audit("permission_denied", request, reason="missing_role", user_id=user.id)
                raise forbidden("missing_role", f"This needs the role(s): {', '.join(missing)}.")
        if self.permissions:
            _check_permissions(request, user, self.permissions)
        return user


async def _user_of(request: Request) -> User | None:
    """The user of the request's bearer token (or session cookie, with a backend that has
    sessions), None without either; 401 for a bad token, 403 for a disabled user."""
    cached: User | None = getattr(request.state, "user", None)
    if cached is not None:
        return cached
    authorization = request.headers.get("authorization")
    if authorization is None:
        return await _session_user(request)
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:  # another scheme: not ours to judge
        return await _session_user(request)
    try:
        user = await backend_of(request).averify_token(token)
    except AuthenticationError as exc:
        audit("authentication_failed", request, reason=exc.reason)
        raise unauthorized(exc.reason, str(exc)) from None
    return _accepted(request, user)


def _accepted(request: Request, user: User) -> User:
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
    return _accepted(request, user)


def _check_permissions(request: Request, user: User, permissions: tuple[str, ...]) -> None:
    grants: dict[str, list[str]] = request.app.settings.auth.permissions
    granted = {name for role in user.roles for name in grants.get(role, ())}
    if "*" in granted:
        return
    missing = [name for name in permissions if name not in granted]
    if missing:
        audit("permission_denied", request, reason="missing_permission", user_id=user.id)
        raise forbidden(
            "missing_permission", f"This needs the permission(s): {', '.join(missing)}."
        )


get_optional_user = Authenticate(required=False)
"""The dependency behind ``OptionalUser``: the user, or None without a token."""
get_current_user = Authenticate(required=True)
"""The dependency behind ``CurrentUser``: the user; 401 without a valid token."""

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
    return Authenticate(required=True, roles=roles)  # type: ignore[return-value]


def require_permissions(*permissions: str) -> Callable[..., Coroutine[Any, Any, User]]:
    """A dependency that lets through users whose roles grant every one of ``permissions``,
    per the ``auth.permissions`` role → permissions map (403 otherwise)."""
    if not permissions or not all(isinstance(name, str) and name for name in permissions):
        raise ValueError("require_permissions() needs one or more permission names.")
    return Authenticate(required=True, permissions=permissions)  # type: ignore[return-value]
