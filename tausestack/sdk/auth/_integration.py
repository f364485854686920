"""FastAPI dependencies: the current user, and role and permission checks.

They answer 401 (with ``WWW-Authenticate: Bearer``) for a missing or invalid token and 403
for a disabled user or a missing role or permission, always with a reason code::

    {"detail": {"reason": "token_expired", "message": "The token has expired."}}

Each is one FastAPI dependency (an ``HTTPBearer`` security scheme that verifies the token and
checks roles itself), not a chain: a chain of three dependencies cost an authenticated route
twice the framework time of the check itself.

The same dependencies guard websockets at the handshake: a bearer header, a one-use ticket in
the ``ws_ticket`` query parameter (browsers cannot set headers on a websocket; ``_tickets``
takes it out of the URL before anything sees the request), or the session cookie sent from an
allowed ``Origin``. A refusal is a 403 denial response where the server
supports the ``websocket.http.response`` extension, else a close with code 1008.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio.to_thread
from fastapi import Depends, HTTPException
from fastapi.security import HTTPBearer
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection, Request
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.types import Scope

from ...di._container import Container
from ...di._keys import DependencyKey
from ...settings import Settings
from .._context import component_of
from ._tickets import TICKET_KEY, TICKET_PARAMETER, take_ticket
from .audit import audit
from .base import AbstractAuthBackend, User
from .errors import AuthenticationError, OperationNotSupportedError

if TYPE_CHECKING:
    from ...web.middleware.settings import CorsSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
SCHEME_NAME = "HTTPBearer"
DENIAL_EXTENSION = "websocket.http.response"
#: Where a request's verified credentials are kept (kind, credential, user or refusal), so
#: the rate limiter and the auth dependency verify them once between them.
IDENTITY_KEY = "tausestack.auth.identity"
#: Seconds between two warnings that :func:`identify` could not ask the backend.
IDENTIFY_WARNING_INTERVAL = 60

#: Each application's backend, looked up once (and again when its singletons change).
_BACKENDS: weakref.WeakKeyDictionary[Container, AbstractAuthBackend] = weakref.WeakKeyDictionary()
#: When each application last warned that :func:`identify` could not ask its backend.
_IDENTIFY_WARNED_AT: weakref.WeakKeyDictionary[Container, float] = weakref.WeakKeyDictionary()


def backend_of(connection: HTTPConnection) -> AbstractAuthBackend:
    """The auth backend of the application serving ``connection`` (a request or websocket)."""
    container: Container = connection.app.container
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
    """A dependency that gives the connection's user and enforces what is asked of them.

    ``required``: 401 without a token (else None); ``roles``: 403 unless the user has every
    one; ``permissions``: 403 unless the user's roles grant every one (``auth.permissions``).
    It is an ``HTTPBearer`` security scheme, so the OpenAPI document shows the lock. On a
    websocket every refusal is a 403 denial response (or a close with code 1008).
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

    async def __call__(self, connection: HTTPConnection) -> User | None:  # type: ignore[override]
        if connection.scope["type"] != "websocket":
            return await self._check(connection)
        try:
            return await self._check(connection)
        except HTTPException as exc:
            raise websocket_refusal(connection, exc) from None

    async def _check(self, connection: HTTPConnection) -> User | None:
        user = await _user_of(connection)
        if user is None:
            if not self.required:
                return None
            refusal: AuthenticationError | None = getattr(connection.state, "session_refusal", None)
            if refusal is not None:
                audit("authentication_failed", connection, reason=refusal.reason)
                raise unauthorized(refusal.reason, str(refusal))
            audit("authentication_failed", connection, reason="missing_token")
            raise unauthorized("missing_token", _missing_token_message(connection))
        if self.roles:
            missing = [role for role in self.roles if role not in user.roles]
            if missing:
                audit("permission_denied", connection, reason="missing_role", user_id=user.id)
                raise forbidden("missing_role", f"This needs the role(s): {', '.join(missing)}.")
        if self.permissions:
            _check_permissions(connection, user, self.permissions)
        return user


def websocket_refusal(connection: HTTPConnection, refusal: HTTPException) -> Exception:
    """What refuses a websocket handshake: a 403 with the refusal's body, sent as a denial
    response where the server supports it; else a close with code 1008 and the reason code."""
    detail: Any = refusal.detail
    if DENIAL_EXTENSION in connection.scope.get("extensions", {}):
        return HTTPException(status_code=403, detail=detail)
    reason = detail.get("reason", "") if isinstance(detail, dict) else ""
    return WebSocketException(WS_1008_POLICY_VIOLATION, reason=str(reason))


def _missing_token_message(connection: HTTPConnection) -> str:
    if connection.scope["type"] == "websocket":
        return (
            "This websocket needs a bearer token (Authorization header), a ticket in the "
            f"{TICKET_PARAMETER} query parameter, or a session cookie."
        )
    return "This needs a bearer token (Authorization header)."


async def _user_of(connection: HTTPConnection) -> User | None:
    """The user of the connection's bearer token, websocket ticket or session cookie (with a
    backend that has sessions), None without any; 401 for a bad token, 403 for a disabled
    user."""
    cached: User | None = getattr(connection.state, "user", None)
    if cached is not None:
        return cached
    token = _bearer_token(connection)
    if token is None:  # none, or another scheme: not ours to judge
        ticket = _ticket_of(connection) if connection.scope["type"] == "websocket" else None
        if ticket is not None:
            return await _ticket_user(connection, ticket)
        return await _session_user(connection)
    outcome = await _verified(connection, "bearer", token)
    if isinstance(outcome, AuthenticationError):
        audit("authentication_failed", connection, reason=outcome.reason)
        raise unauthorized(outcome.reason, str(outcome)) from None
    return _accepted(connection, outcome)


async def identify(scope: Scope) -> User | None:
    """The user of the request's bearer token or session cookie, for the rate limiter (which
    runs before the route): verified by the app's auth backend and kept in ``scope``, so the
    auth dependency of the same request does not verify it again.

    None without credentials, without an auth backend, or when they are refused (the auth
    dependency answers that with its 401, as without the limiter). It neither raises, audits
    nor checks CSRF tokens: the auth dependency does.
    """
    connection = HTTPConnection(scope)
    try:
        if not _has_backend(connection):
            return None
        token = _bearer_token(connection)
        if token is not None:
            outcome = await _verified(connection, "bearer", token)
        else:
            cookie = connection.cookies.get(connection.app.settings.auth.sessions.cookie)
            if not cookie or getattr(backend_of(connection), "session_user", None) is None:
                return None
            outcome = await _verified(connection, "session", cookie)
    except Exception as exc:  # the backend failed: not the limiter's to report
        _identify_failed(connection, exc)
        return None
    return outcome if isinstance(outcome, User) else None


def _identify_failed(connection: HTTPConnection, error: Exception) -> None:
    """Log that the backend failed to identify a request's user: its error's type only (its
    message may hold the credential, as a database error's parameters), at most once every
    :data:`IDENTIFY_WARNING_INTERVAL` seconds per application."""
    container: Container | None = getattr(connection.scope.get("app"), "container", None)
    now = time.monotonic()
    if container is not None:
        warned_at = _IDENTIFY_WARNED_AT.get(container)
        if warned_at is not None and now - warned_at < IDENTIFY_WARNING_INTERVAL:
            return
        _IDENTIFY_WARNED_AT[container] = now
    logging.getLogger("tausestack.rate_limit").warning(
        "The auth backend failed to identify a request's user for the rate limit (%s); such "
        "requests are counted per address, and the route's auth dependency reports the error. "
        "This warning repeats at most every %d s.",
        type(error).__name__,
        IDENTIFY_WARNING_INTERVAL,
    )


def _has_backend(connection: HTTPConnection) -> bool:
    """Whether the app has an auth backend: set in ``auth.backend``, or given to the container
    (as a test's override)."""
    container: Container | None = getattr(connection.scope.get("app"), "container", None)
    if container is None:
        return False
    if container in _BACKENDS or container.graph.lookup(DependencyKey(AbstractAuthBackend)):
        return True
    return connection.app.settings.auth.backend is not None


def _bearer_token(connection: HTTPConnection) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def _verified(
    connection: HTTPConnection, kind: Literal["bearer", "session"], credential: str
) -> User | AuthenticationError:
    """The user of a bearer token or session token, or why it is refused; verified once per
    request (what :func:`identify` found is reused)."""
    known: tuple[str, str, User | AuthenticationError] | None = connection.scope.get(IDENTITY_KEY)
    if known is not None and known[:2] == (kind, credential):
        return known[2]
    backend = backend_of(connection)
    outcome: User | AuthenticationError
    try:
        if kind == "bearer":
            outcome = await backend.averify_token(credential)
        else:
            outcome = await anyio.to_thread.run_sync(backend.session_user, credential)  # type: ignore[attr-defined]
    except AuthenticationError as exc:
        outcome = exc
    connection.scope[IDENTITY_KEY] = (kind, credential, outcome)
    return outcome


def _accepted(connection: HTTPConnection, user: User) -> User:
    if user.disabled:
        audit("permission_denied", connection, reason="user_disabled", user_id=user.id)
        raise forbidden("user_disabled", "This account is disabled.")
    connection.state.user = user
    return user


def _ticket_of(connection: HTTPConnection) -> str | None:
    """The websocket's ticket, which ``TicketRedactionMiddleware`` took out of the URL (an app
    whose backend issues no tickets has no such middleware: taken out here)."""
    scope = connection.scope
    if TICKET_KEY not in scope:
        take_ticket(scope)
    ticket: str | None = scope.get(TICKET_KEY)
    return ticket


async def _ticket_user(connection: HTTPConnection, ticket: str) -> User:
    """The user of a websocket ticket, which is used up."""
    try:
        user = await backend_of(connection).aredeem_ticket(ticket)
    except OperationNotSupportedError as exc:
        audit("authentication_failed", connection, reason="invalid_ticket")
        raise unauthorized("invalid_ticket", str(exc)) from None
    except AuthenticationError as exc:
        audit("authentication_failed", connection, reason=exc.reason)
        raise unauthorized(exc.reason, str(exc)) from None
    return _accepted(connection, user)


async def _session_user(connection: HTTPConnection) -> User | None:
    """The user of a session cookie (``tausestack.contrib.auth``). Unsafe methods must carry
    the session's CSRF token in the header or a ``csrf_token`` form field; a websocket must
    come from this site's own pages or a trusted origin."""
    settings = connection.app.settings.auth.sessions
    token = connection.cookies.get(settings.cookie)
    if not token:
        return None
    backend = backend_of(connection)
    if getattr(backend, "session_user", None) is None:
        return None
    user = await _verified(connection, "session", token)
    if isinstance(user, AuthenticationError):
        # The browser sends a revoked or expired cookie with every request and scripts cannot
        # remove an HttpOnly cookie: anonymous where a user is optional, 401 where required.
        connection.state.session_refusal = user
        return None
    if connection.scope["type"] == "websocket":
        _check_websocket_origin(connection, user)
    elif connection.scope["method"] not in SAFE_METHODS:
        await _check_csrf(connection, backend, token, user)
    return _accepted(connection, user)


async def _check_csrf(
    connection: HTTPConnection, backend: AbstractAuthBackend, token: str, user: User
) -> None:
    settings = connection.app.settings.auth.sessions
    method = connection.scope["method"]
    sent = connection.headers.get(settings.csrf_header)
    if (
        sent is None
        and isinstance(connection, Request)
        and connection.headers.get("content-type", "").startswith(FORM_TYPES)
    ):
        field = (await connection.form()).get("csrf_token")
        sent = field if isinstance(field, str) else None
    expected = backend.csrf_token(token)  # type: ignore[attr-defined]
    if sent is None or not hmac.compare_digest(sent.encode(), expected.encode()):
        audit("permission_denied", connection, reason="csrf_failed", user_id=user.id)
        raise forbidden(
            "csrf_failed",
            f"A {method} with a session cookie needs the session's CSRF token in the "
            f"{settings.csrf_header} header or a csrf_token form field.",
        )


class TrustedOrigins:
    """The origins ``security.cors`` allows: those of ``allow_origins``, and those that
    ``allow_origin_regex`` matches whole (as Starlette's CORSMiddleware, with ``fullmatch``)."""

    def __init__(self, cors: CorsSettings) -> None:
        self.origins = frozenset(cors.allow_origins)
        regex = cors.allow_origin_regex
        self.pattern = re.compile(regex) if regex is not None else None

    def __contains__(self, origin: object) -> bool:
        if origin in self.origins:
            return True
        return (
            isinstance(origin, str)
            and self.pattern is not None
            and bool(self.pattern.fullmatch(origin))
        )


def cross_site(connection: HTTPConnection, trusted_origins: TrustedOrigins) -> bool:
    """Whether the browser says ``connection`` comes from another site's page: a
    ``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is neither this site nor trusted."""
    if connection.headers.get("sec-fetch-site") == "cross-site":
        return True
    origin = connection.headers.get("origin")
    return origin is not None and origin != own_origin(connection) and origin not in trusted_origins


def own_origin(connection: HTTPConnection) -> str:
    """This site's origin as a browser names it (``ws``/``wss`` are ``http``/``https``)."""
    url = connection.url
    scheme = "https" if url.scheme in ("https", "wss") else "http"
    return f"{scheme}://{url.netloc}"


def _check_websocket_origin(connection: HTTPConnection, user: User) -> None:
    """A browser sends the cookie with a websocket opened by any site's page, and CSRF tokens
    cannot travel with it: the ``Origin`` (which browsers always send) must be this site's
    or one that ``security.cors`` allows (``allow_origins``, ``allow_origin_regex``)."""
    trusted = TrustedOrigins(connection.app.settings.security.cors)
    if "origin" not in connection.headers or cross_site(connection, trusted):
        audit("permission_denied", connection, reason="cross_site_request", user_id=user.id)
        raise forbidden(
            "cross_site_request",
            "A websocket authenticated by the session cookie must come from this site's own "
            "pages (or an origin that security.cors.allow_origins or allow_origin_regex allows), "
            "with an Origin header.",
        )


def _check_permissions(
    connection: HTTPConnection, user: User, permissions: tuple[str, ...]
) -> None:
    grants: dict[str, list[str]] = connection.app.settings.auth.permissions
    granted = {name for role in user.roles for name in grants.get(role, ())}
    if "*" in granted:
        return
    missing = [name for name in permissions if name not in granted]
    if missing:
        audit("permission_denied", connection, reason="missing_permission", user_id=user.id)
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
