"""The endpoints of ``tausestack.contrib.auth`` under ``/auth``, on the ``jwt`` backend.

- ``POST /auth/register`` — a new account (``auth.registration: false`` closes it);
- ``POST /auth/login`` — the OAuth2 password flow (form fields ``username``, ``password``):
  an access token and a refresh token;
- ``POST /auth/refresh`` — a new pair for a refresh token (which is then used up);
- ``POST /auth/logout`` — revokes the login a refresh token belongs to;
- ``GET /auth/me``, ``PATCH /auth/me`` — the current account; its display name and password
  (with the current one). Roles are never set here: only application code calls ``set_roles``;
- ``POST /auth/session``, ``DELETE /auth/session`` — cookie sessions for server-rendered pages,
  with a CSRF cookie that unsafe requests must echo;
- ``POST /auth/ws-ticket`` — a one-use ticket that opens a websocket as the current user
  (``?ws_ticket=…``), for browsers, which cannot send headers with a websocket.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, NoReturn

import anyio.to_thread
from fastapi import Depends, HTTPException, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from ...sdk.auth import AbstractAuthBackend, CurrentUser
from ...sdk.auth._integration import TrustedOrigins, cross_site, forbidden, unauthorized
from ...sdk.auth.audit import audit
from ...sdk.auth.errors import (
    AuthConfigurationError,
    AuthenticationError,
    InvalidUserDataError,
    PermissionDeniedError,
    UserExistsError,
    UserNotFoundError,
)
from ...sdk.auth.jwt_backend import TICKET_TTL, JwtBackend
from ...settings import Settings
from ...web import Controller, delete, get, patch, post
from ._responses import responses
from ._schemas import (
    AccountOut,
    ProfileUpdate,
    RefreshRequest,
    Registration,
    TokenResponse,
    WebsocketTicket,
)
from ._throttle import LoginThrottle

__all__ = [
    "AccountOut",
    "AuthController",
    "ProfileUpdate",
    "Registration",
    "TokenResponse",
    "WebsocketTicket",
]

PasswordForm = Annotated[OAuth2PasswordRequestForm, Depends()]

MALFORMED = "A malformed request (FastAPI's list of field errors)"
WRONG_PASSWORD = "Wrong email or password (`invalid_credentials`)."
DISABLED = "The account is disabled (`user_disabled`)."
UNAUTHENTICATED = "Not authenticated: no token, or one that is not valid (`detail.reason`)."
THROTTLED = (
    "Too many failed password attempts for the account or from the address "
    "(`too_many_attempts`); retry after `Retry-After` seconds."
)
CROSS_SITE = "Sent from another site's page (`cross_site_request`)"


@Controller("/auth", tags=["auth"])
class AuthController:
    """Accounts, tokens and sessions of the ``jwt`` backend."""

    def __init__(self, backend: AbstractAuthBackend, settings: Settings) -> None:
        if not isinstance(backend, JwtBackend):
            raise AuthConfigurationError(
                "tausestack.contrib.auth is in installed_apps, but its endpoints need "
                f"auth.backend: jwt (the backend is {backend.describe()}). Set auth.backend to "
                "jwt, or remove the app."
            )
        self.backend = backend
        self.settings = settings.auth
        self.profile = settings.profile
        self.trusted_origins = TrustedOrigins(settings.security.cors)
        self.throttle = LoginThrottle(self.settings.login_throttle, settings.security.rate_limit)
        # As many password checks at once as hash at once; one semaphore per event loop (an
        # asyncio primitive binds to the loop it first waits on, and a new session is a new loop).
        self._slots = backend.settings.max_concurrent_hashes
        self._password_checks: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    async def stop(self) -> None:
        """Close the login throttle's storage connections (at application shutdown)."""
        await self.throttle.aclose()

    @post(
        "/register",
        status_code=201,
        responses=responses(
            status_403="Registration is closed (`registration_closed`).",
            status_409="The email has an account (`user_exists`).",
            status_422=f"{MALFORMED}, or a bad email or a weak password (`invalid_user_data`).",
        ),
    )
    async def register(self, request: Request, registration: Registration) -> AccountOut:
        if not self.settings.registration:
            raise HTTPException(
                403, {"reason": "registration_closed", "message": "Registration is closed."}
            )
        try:
            user = await self.backend.acreate_user(
                registration.email,
                registration.password,
                display_name=registration.display_name,
            )
        except InvalidUserDataError as exc:
            raise HTTPException(422, {"reason": "invalid_user_data", "message": str(exc)}) from None
        except UserExistsError as exc:
            raise HTTPException(409, {"reason": "user_exists", "message": str(exc)}) from None
        audit("user_registered", request, user_id=user.id)
        return AccountOut.of(user)

    @post(
        "/login",
        responses=responses(
            status_401=WRONG_PASSWORD,
            status_403=DISABLED,
            status_422=f"{MALFORMED}.",
            status_429=THROTTLED,
        ),
    )
    async def login(self, request: Request, form: PasswordForm) -> TokenResponse:
        """OAuth2 password flow: ``username`` is the email address."""
        pair = await self._authenticate(
            request, form.username, self.backend.login, form.username, form.password
        )
        return TokenResponse.of(pair)

    @post(
        "/refresh",
        responses=responses(
            status_401="The refresh token is not valid (`invalid_token`), used already "
            "(`token_reused`), revoked or expired (`token_revoked`, `token_expired`).",
            status_403=DISABLED,
            status_422=f"{MALFORMED}.",
        ),
    )
    async def refresh(self, refresh: RefreshRequest) -> TokenResponse:
        if not _printable(refresh.refresh_token):  # no token has one; PostgreSQL refuses NUL
            raise unauthorized("invalid_token", "The refresh token is not valid.")
        try:
            pair = await anyio.to_thread.run_sync(self.backend.refresh, refresh.refresh_token)
        except AuthenticationError as exc:
            raise unauthorized(exc.reason, str(exc)) from None
        except PermissionDeniedError as exc:
            raise forbidden(exc.reason, str(exc)) from None
        return TokenResponse.of(pair)

    @post(
        "/logout",
        status_code=204,
        response_model=None,
        responses=responses(status_422=f"{MALFORMED}."),
    )
    async def logout(self, refresh: RefreshRequest) -> None:
        if _printable(refresh.refresh_token):
            await anyio.to_thread.run_sync(self.backend.logout, refresh.refresh_token)

    @get("/me", responses=responses(status_401=UNAUTHENTICATED, status_403=DISABLED))
    async def me(self, user: CurrentUser) -> AccountOut:
        found = await self.backend.aget_user(user.id)
        if found is None:
            raise unauthorized("unknown_user", "The token's account no longer exists.")
        return AccountOut.of(found)

    @patch(
        "/me",
        responses=responses(
            status_401=UNAUTHENTICATED,
            status_403="The account is disabled (`user_disabled`), `current_password` is "
            "wrong (`invalid_credentials`), or a cookie session sent no CSRF token "
            "(`csrf_failed`).",
            status_422=f"{MALFORMED}, or a weak password or a bad display name "
            "(`invalid_user_data`).",
            status_429=THROTTLED,
        ),
    )
    async def update_me(
        self, request: Request, user: CurrentUser, update: ProfileUpdate
    ) -> AccountOut:
        account = await self.backend.aget_user(user.id)
        if account is None:
            raise unauthorized("unknown_user", "The token's account no longer exists.")
        if account.disabled:
            raise forbidden("user_disabled", "This account is disabled.")
        if update.password is not None:
            if update.current_password is None:
                self._invalid("Changing the password needs current_password too.")
            try:
                await self._check_password(
                    request,
                    account.email or user.id,
                    self.backend.change_password,
                    user.id,
                    update.current_password,
                    update.password,
                )
            except AuthenticationError as exc:
                audit("authentication_failed", request, reason=exc.reason, user_id=user.id)
                raise forbidden("invalid_credentials", str(exc)) from None
            except InvalidUserDataError as exc:
                self._invalid(str(exc))
        changes: dict[str, Any] = {}
        if "display_name" in update.model_fields_set:
            changes["display_name"] = update.display_name
        try:
            found = await self.backend.aupdate_user(user.id, **changes)
        except InvalidUserDataError as exc:
            self._invalid(str(exc))
        except UserNotFoundError:
            raise unauthorized("unknown_user", "The token's account no longer exists.") from None
        return AccountOut.of(found)

    @post(
        "/ws-ticket",
        responses=responses(
            status_401=UNAUTHENTICATED,
            status_403="The account is disabled (`user_disabled`), or a cookie session sent no "
            "CSRF token (`csrf_failed`).",
        ),
    )
    async def websocket_ticket(self, user: CurrentUser) -> WebsocketTicket:
        """A one-use ticket that opens a websocket as the current user (browsers cannot send
        an Authorization header with a websocket)."""
        try:
            ticket = await self.backend.aissue_ticket(user.id)
        except UserNotFoundError:
            raise unauthorized("unknown_user", "The token's account no longer exists.") from None
        except PermissionDeniedError as exc:
            raise forbidden(exc.reason, str(exc)) from None
        return WebsocketTicket(ticket=ticket, expires_in=TICKET_TTL)

    @post(
        "/session",
        status_code=204,
        response_model=None,
        responses=responses(
            status_401=WRONG_PASSWORD,
            status_403=f"{CROSS_SITE}, or the account is disabled (`user_disabled`).",
            status_422=f"{MALFORMED}.",
            status_429=THROTTLED,
        ),
    )
    async def open_session(self, request: Request, form: PasswordForm) -> Response:
        """Log in for a server-rendered site: sets the session and CSRF cookies.

        Refused from another site's page (``Origin``/``Sec-Fetch-Site``), so a third-party
        form cannot log the browser into the attacker's account (login CSRF).
        """
        self._refuse_cross_site(request)
        sessions = self.settings.sessions
        opened = await self._authenticate(
            request,
            form.username,
            self.backend.open_session,
            form.username,
            form.password,
            sessions.ttl,
        )
        response = Response(status_code=204)
        common: dict[str, Any] = {
            "max_age": sessions.ttl,
            "path": "/",
            "secure": self._secure(request),
            "samesite": sessions.same_site,
        }
        response.set_cookie(sessions.cookie, opened.token, httponly=True, **common)
        response.set_cookie(sessions.csrf_cookie, self.backend.csrf_token(opened.token), **common)
        return response

    @delete(
        "/session",
        status_code=204,
        response_model=None,
        responses=responses(status_403=f"{CROSS_SITE}."),
    )
    async def close_session(self, request: Request) -> Response:
        """Log out of a cookie session: revokes it and clears the cookies. It needs no valid
        session, so a revoked or expired cookie can always be cleared; it is refused from
        another site's page."""
        self._refuse_cross_site(request)
        sessions = self.settings.sessions
        token = request.cookies.get(sessions.cookie)
        if token and _printable(token):
            await anyio.to_thread.run_sync(self.backend.logout, token)
        response = Response(status_code=204)
        clear: dict[str, Any] = {"path": "/", "secure": self._secure(request)}
        response.delete_cookie(sessions.cookie, httponly=True, samesite=sessions.same_site, **clear)
        response.delete_cookie(sessions.csrf_cookie, samesite=sessions.same_site, **clear)
        return response

    def _secure(self, request: Request) -> bool:
        """Whether cookies get ``Secure``: as set, else over HTTPS and outside dev/test (a
        production app behind a TLS proxy sees ``http`` unless it trusts the proxy's headers)."""
        sessions = self.settings.sessions
        if sessions.secure is not None:
            return sessions.secure
        if sessions.same_site == "none":
            return True
        return request.url.scheme == "https" or self.profile not in ("dev", "test")

    def _refuse_cross_site(self, request: Request) -> None:
        if cross_site(request, self.trusted_origins):
            audit("permission_denied", request, reason="cross_site_request")
            raise forbidden(
                "cross_site_request",
                "Cookie sessions can only be opened or closed from this site's own pages "
                "(or an origin that security.cors.allow_origins or allow_origin_regex allows).",
            )

    async def _authenticate(self, request: Request, email: str, call: Any, *args: Any) -> Any:
        try:
            result = await self._check_password(request, email, call, *args)
        except AuthenticationError as exc:
            audit("login_failed", request, reason=exc.reason, email=_masked(email))
            raise unauthorized(exc.reason, str(exc)) from None
        except PermissionDeniedError as exc:
            audit("login_failed", request, reason=exc.reason, email=_masked(email))
            raise forbidden(exc.reason, str(exc)) from None
        audit("login_succeeded", request, user_id=result.user_id)
        return result

    async def _check_password(self, request: Request, email: str, call: Any, *args: Any) -> Any:
        """``call(*args)`` (backend work that checks a password) on the hashing threads, unless
        the account or the address has failed too often (429); a failure is counted."""
        address = request.client.host if request.client else "unknown"
        attempt = self.throttle.attempt(email, address)
        # A slot from the check to the count of a failure, so that no more attempts than there
        # are slots race past a count that is about to be over. The storage calls in it wait at
        # most one storage timeout per attempt, and none while the throttle's breaker is open.
        async with self._semaphore():
            retry = await attempt.retry_after()
            if retry is not None:
                audit("login_throttled", request, reason="too_many_attempts", email=_masked(email))
                raise HTTPException(
                    429,
                    {
                        "reason": "too_many_attempts",
                        "message": "Too many failed password attempts for this account or "
                        f"address; try again in {retry} s.",
                    },
                    headers={"Retry-After": str(retry)},
                )
            try:
                result = await self.backend.hasher.run(call, *args)
            except AuthenticationError:
                await attempt.failed()
                raise
        await attempt.succeeded()
        return result

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._password_checks is None or self._password_checks[0] is not loop:
            self._password_checks = (loop, asyncio.Semaphore(self._slots))
        return self._password_checks[1]

    @staticmethod
    def _invalid(message: str) -> NoReturn:
        raise HTTPException(422, {"reason": "invalid_user_data", "message": message})


def _masked(email: str) -> str:
    """An email address for a log: the domain and the first letter (``a***@example.com``)."""
    local, _, domain = email.strip().lower().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _printable(token: str) -> bool:
    """Whether a token is printable ASCII, as every token the backend issues is."""
    return token.isascii() and token.isprintable()
