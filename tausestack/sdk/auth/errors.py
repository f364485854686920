"""Errors of ``tausestack.sdk.auth``. Authentication failures carry a reason code for clients."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "AuthConfigurationError",
    "AuthError",
    "AuthenticationError",
    "InvalidUserDataError",
    "OperationNotSupportedError",
    "PermissionDeniedError",
    "UserExistsError",
    "UserNotFoundError",
]


class AuthError(TauseStackError):
    """Base class of the auth errors."""


class AuthConfigurationError(AuthError):
    """The ``auth:`` settings cannot work (no backend, no issuer, unknown algorithm)."""


class AuthenticationError(AuthError):
    """A token is missing, malformed, expired, wrongly signed or meant for someone else: a 401.

    ``reason`` is a stable code a client can act on (``token_expired``, ``invalid_signature``,
    ``invalid_audience``, ``invalid_issuer``, ``algorithm_not_allowed``, ``malformed_token``,
    ``unknown_key``, ``missing_token``…); the message says the same for people.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class PermissionDeniedError(AuthError):
    """The user is known but may not do this (disabled, missing role or permission): a 403."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class OperationNotSupportedError(AuthError):
    """The backend cannot do this (an OIDC provider's users are managed by the provider)."""


class UserExistsError(AuthError):
    """An account with this email address exists already."""


class UserNotFoundError(AuthError):
    """No account has this id."""


class InvalidUserDataError(AuthError, ValueError):
    """A field of an account is not acceptable (a malformed email, a short password, an
    unknown field); the message says which and why."""
