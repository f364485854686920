"""Object storage: JSON values, binary objects and DataFrames on local disk or S3.

With DI, inject :class:`Storage` (or the backend, ``AbstractStorageBackend``). Without DI, use
this module's kinds, which work for the current application::

    from tausestack.sdk import storage

    storage.json.put("reports/2026.json", {"total": 12})
    frame = await storage.dataframe.aget("sales")
    url = storage.binary.url("invoices/7.pdf", expires=600)

Every kind has ``put``, ``get`` (None on a miss), ``delete``, ``exists``, ``list(prefix)`` and
async twins (``aput``, ``aget``…). See ``docs/storage.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._lazy import lazy_names
from ...settings import Settings
from .._context import current_component
from ..settings import StorageSettings
from ._dataframes import DataFrames
from ._keys import current_tenant, tenant
from ._kinds import BinaryObjects, JsonObjects
from ._storage import Storage
from .base import AbstractStorageBackend, ObjectInfo
from .errors import (
    InvalidKeyError,
    StorageBackendError,
    StorageConfigurationError,
    StorageError,
    StorageSerializationError,
)
from .local import LocalStorage

__all__ = [
    "AbstractStorageBackend",
    "BinaryObjects",
    "DataFrames",
    "InvalidKeyError",
    "JsonObjects",
    "LocalStorage",
    "ObjectInfo",
    "Storage",
    "StorageBackendError",
    "StorageConfigurationError",
    "StorageError",
    "StorageSerializationError",
    "StorageSettings",
    "binary",
    "current",
    "current_tenant",
    "dataframe",
    "json",
    "tenant",
]


def current() -> Storage:
    """The current application's :class:`Storage` (see ``tausestack.sdk``).

    An app where nothing asked for storage (a script's default app, say) gets one built from
    its settings on first use, kept for the app's lifetime.
    """
    return current_component(Storage, lambda container: Storage(container.get(Settings)))


class _CurrentStorage:
    """The current application's storage, looked up on every call (for the module's kinds)."""

    @property
    def backend(self) -> AbstractStorageBackend:
        return current().backend

    @property
    def settings(self) -> StorageSettings:
        return current().settings

    def name(self, key: object) -> str:
        return current().name(key)

    def prefix(self, prefix: object) -> str:
        return current().prefix(prefix)


_CURRENT = _CurrentStorage()

json = JsonObjects(_CURRENT)
"""JSON values in the current application's storage."""
binary = BinaryObjects(_CURRENT)
"""Binary objects in the current application's storage."""
dataframe = DataFrames(_CURRENT)
"""DataFrames in the current application's storage."""


# ``S3Storage`` (tausestack.sdk.storage.s3) imports boto3, so it is loaded on first use and
# left out of __all__: ``from tausestack.sdk.storage import *`` works without boto3.
if TYPE_CHECKING:
    from .s3 import S3Storage as S3Storage
else:
    __getattr__, __dir__ = lazy_names(__name__, {".s3": ("S3Storage",)})
