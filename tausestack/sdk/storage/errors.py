"""Errors of ``tausestack.sdk.storage``; every one names the key and the backend, and the fix."""

from __future__ import annotations

from ...errors import TauseStackError

__all__ = [
    "InvalidKeyError",
    "StorageBackendError",
    "StorageConfigurationError",
    "StorageError",
    "StorageSerializationError",
]


class StorageError(TauseStackError):
    """Base class of the storage errors."""


class StorageConfigurationError(StorageError):
    """The ``storage:`` settings cannot work (unknown backend, missing bucket, no signing key)."""


class InvalidKeyError(StorageError, ValueError):
    """A key is not allowed: absolute, with ``..`` or control characters, too long…"""


class StorageSerializationError(StorageError, TypeError):
    """A value cannot be stored as the kind asked for (not JSON, not a DataFrame, not bytes),
    or a stored object is not of the kind it is read as. Nothing was written."""


class StorageBackendError(StorageError):
    """The backend failed (disk full, permission denied, S3 unreachable); nothing was written."""
