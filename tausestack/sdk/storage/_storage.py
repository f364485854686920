"""``Storage``: the facade an application injects, with its three kinds over one backend."""

from __future__ import annotations

from ..._naming import did_you_mean
from ...settings import Settings
from .._plugins import load_backend
from ..settings import StorageSettings
from ._dataframes import DataFrames
from ._keys import check_key, check_prefix, object_name
from ._kinds import BinaryObjects, JsonObjects
from ._signed_urls import UrlSigner
from .base import AbstractStorageBackend
from .errors import StorageConfigurationError

BUILT_IN_BACKENDS = ("local", "s3")


class Storage:
    """JSON values, binary objects and DataFrames in the configured backend.

    Inject it (``storage: Storage``) or use the module functions (``storage.json.put``). Keys
    are relative paths validated the same way everywhere (see ``docs/storage.md``); all kinds
    share one key space.

    Attributes:
        json: JSON values (pydantic models included).
        binary: bytes, files and streams, with a content type and signed URLs.
        dataframe: pandas DataFrames as Parquet.
        backend: the backend the settings chose.
    """

    def __init__(self, settings: Settings) -> None:
        self._set_up(settings.storage, build_backend(settings))

    @classmethod
    def over(
        cls, backend: AbstractStorageBackend, settings: StorageSettings | None = None
    ) -> Storage:
        """A Storage over a backend you built yourself (tests, scripts, a second bucket)."""
        storage = cls.__new__(cls)
        storage._set_up(settings if settings is not None else StorageSettings(), backend)
        return storage

    def _set_up(self, settings: StorageSettings, backend: AbstractStorageBackend) -> None:
        self.settings = settings
        self.backend = backend
        self.json = JsonObjects(self)
        self.binary = BinaryObjects(self)
        self.dataframe = DataFrames(self)

    def name(self, key: object) -> str:
        """The object name ``key`` maps to (validated; under the current tenant, if any)."""
        return object_name(
            check_key(key, self.settings.max_key_length), self.settings.max_key_length
        )

    def prefix(self, prefix: object) -> str:
        """The object-name prefix a listing ``prefix`` maps to."""
        return object_name(check_prefix(prefix, self.settings.max_key_length))

    async def start(self) -> None:
        """Check the backend at application startup (``storage.check_on_startup``)."""
        if self.settings.check_on_startup:
            await self.backend.start()

    async def stop(self) -> None:
        """Release the backend's connections at application shutdown."""
        await self.backend.stop()


def build_backend(settings: Settings) -> AbstractStorageBackend:
    """The backend ``storage.backend`` names: ``local``, ``s3`` or a dotted class path."""
    options = settings.storage
    name = options.backend
    if name == "local":
        from .local import LocalStorage

        root = options.local.root
        return LocalStorage(
            root if root.is_absolute() else settings.config_dir / root,
            chunk_size=options.chunk_size,
            signer=UrlSigner.from_settings(settings),
            fsync=options.local.fsync,
        )
    if name == "s3":
        try:
            from .s3 import S3Storage
        except ImportError:
            raise StorageConfigurationError(
                "storage.backend is 's3', which needs boto3; install it with "
                "`pip install 'tausestack[aws]'`."
            ) from None
        return S3Storage(options.s3, chunk_size=options.chunk_size)
    if "." not in name and ":" not in name:
        hint = did_you_mean(name, BUILT_IN_BACKENDS)
        raise StorageConfigurationError(
            f"Unknown storage.backend {name!r}: use 'local', 's3', or the dotted path of an "
            f"AbstractStorageBackend subclass (package.module:ClassName).{hint}"
        )
    backend: AbstractStorageBackend = load_backend(
        name,
        AbstractStorageBackend,
        settings,
        setting="storage.backend",
        built_in=BUILT_IN_BACKENDS,
        error=StorageConfigurationError,
    )
    return backend
