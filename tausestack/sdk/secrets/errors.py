"""Errors of ``tausestack.sdk.secrets``: they name the secret and the backend, never the value."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "InvalidSecretNameError",
    "SecretNotFoundError",
    "SecretsBackendError",
    "SecretsConfigurationError",
    "SecretsError",
]


class SecretsError(TauseStackError):
    """Base class of the secrets errors."""


class SecretsConfigurationError(SecretsError):
    """The ``secrets:`` settings cannot work, or a ``${secret:…}`` reference cannot be resolved."""


class InvalidSecretNameError(SecretsError, ValueError):
    """A secret name is empty, not a str, too long, or holds control characters."""


class SecretNotFoundError(SecretsError, LookupError):
    """``require()`` asked for a secret (or a field of one) the backend does not have."""


class SecretsBackendError(SecretsError):
    """The backend failed (Secrets Manager unreachable, access denied)."""
