"""The kinds of object: ``json`` values and ``binary`` data (DataFrames are in ``_dataframes``).

Each kind serializes on its side and hands bytes, a stream or a file to the backend, so every
backend stores the same bytes under the same name. A value that cannot be serialized raises
before anything is written.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar, overload

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.datastructures import UploadFile

from ..._json_numbers import hidden_non_finite
from ._keys import guess_content_type, key_of
from ._streams import IterableReader, buffered
from .base import ObjectInfo
from .errors import StorageError, StorageSerializationError

if TYPE_CHECKING:
    from ..settings import StorageSettings
    from .base import AbstractStorageBackend

T = TypeVar("T")
_list = list

JSON_CONTENT_TYPE = "application/json"
#: S3 presigned URLs live at most a week; the same limit holds everywhere.
MAX_URL_EXPIRY = 7 * 24 * 3600

BinaryData = bytes | bytearray | memoryview | IO[bytes] | UploadFile | Iterable[bytes]
AsyncBinaryData = BinaryData | AsyncIterable[bytes]


class StorageView(Protocol):
    """What a kind needs from its storage: the backend, settings, and key → object name."""

    @property
    def backend(self) -> AbstractStorageBackend: ...

    @property
    def settings(self) -> StorageSettings: ...

    def name(self, key: object) -> str: ...

    def prefix(self, prefix: object) -> str: ...


class _Kind:
    """What every kind shares: delete, exists, list, and their async twins."""

    kind = "object"

    def __init__(self, storage: StorageView) -> None:
        self._storage = storage

    def delete(self, key: str) -> None:
        """Remove the object at ``key``; nothing happens if there is none."""
        self._storage.backend.delete(self._storage.name(key))

    async def adelete(self, key: str) -> None:
        """Async :meth:`delete`."""
        await self._storage.backend.adelete(self._storage.name(key))

    def exists(self, key: str) -> bool:
        """Whether an object is stored at ``key``."""
        return self._storage.backend.exists(self._storage.name(key))

    async def aexists(self, key: str) -> bool:
        """Async :meth:`exists`."""
        return await self._storage.backend.aexists(self._storage.name(key))

    def list(self, prefix: str = "") -> _list[str]:
        """Every key starting with ``prefix`` (all kinds share one key space), sorted."""
        return [key_of(name) for name in self._storage.backend.list(self._storage.prefix(prefix))]

    async def alist(self, prefix: str = "") -> _list[str]:
        """Async :meth:`list`."""
        names = await self._storage.backend.alist(self._storage.prefix(prefix))
        return [key_of(name) for name in names]

    def _not_serializable(self, key: str, value: object, reason: str) -> StorageSerializationError:
        where = self._storage.backend.describe()
        return StorageSerializationError(
            f"Cannot store {type(value).__name__} at {key!r} as {self.kind} on {where}: {reason}. "
            "Nothing was written."
        )


class JsonObjects(_Kind):
    """JSON values: anything orjson serializes, plus pydantic models and Decimals.

    ``get`` returns the parsed JSON, or an instance of ``type`` when one is given::

        storage.json.put("users/1", user)            # a pydantic model
        storage.json.get("users/1", type=UserRead)   # UserRead(...) or None
    """

    kind = "JSON"

    def dumps(self, key: str, value: object) -> bytes:
        """``value`` as JSON bytes, or StorageSerializationError naming the key and the type."""
        try:
            data = orjson.dumps(value, default=_json_default)
        except (TypeError, orjson.JSONEncodeError) as exc:
            # orjson reports our default()'s TypeError as the cause, with its own message on top.
            raise self._not_serializable(key, value, str(exc.__cause__ or exc)) from None
        where = hidden_non_finite(value, data)
        if where is not None:  # orjson wrote it as null: it would come back as None
            raise self._not_serializable(
                key,
                value,
                f"{where} is NaN or infinite, which JSON cannot hold (it would be read back as "
                "null); store None or a string instead",
            )
        return data

    def loads(self, key: str, data: bytes, type: Any = None) -> Any:
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise StorageSerializationError(
                f"The object at {key!r} on {self._storage.backend.describe()} is not JSON"
                f"{_looks_like(data)}; read it with the kind that stored it."
            ) from None
        if type is None:
            return value
        try:
            return _adapter(type).validate_python(value)
        except ValidationError as exc:
            raise StorageSerializationError(
                f"The JSON at {key!r} is not a valid {getattr(type, '__name__', type)}: {exc}"
            ) from None

    def put(self, key: str, value: object) -> None:
        """Store ``value`` as JSON at ``key``, replacing what was there."""
        name = self._storage.name(key)
        self._storage.backend.put_bytes(name, self.dumps(key, value), JSON_CONTENT_TYPE)

    async def aput(self, key: str, value: object) -> None:
        """Async :meth:`put`."""
        name = self._storage.name(key)
        await self._storage.backend.aput_bytes(name, self.dumps(key, value), JSON_CONTENT_TYPE)

    @overload
    def get(self, key: str) -> Any: ...
    @overload
    def get(self, key: str, type: type[T]) -> T | None: ...
    def get(self, key: str, type: Any = None) -> Any:
        """The value at ``key`` (validated as ``type`` if given), or None when there is none."""
        data = self._storage.backend.get_bytes(self._storage.name(key))
        return None if data is None else self.loads(key, data, type)

    @overload
    async def aget(self, key: str) -> Any: ...
    @overload
    async def aget(self, key: str, type: type[T]) -> T | None: ...
    async def aget(self, key: str, type: Any = None) -> Any:
        """Async :meth:`get`."""
        data = await self._storage.backend.aget_bytes(self._storage.name(key))
        return None if data is None else self.loads(key, data, type)


class BinaryObjects(_Kind):
    """Bytes, files and streams, with a content type; large objects never sit whole in memory.

    ``put`` takes ``bytes``, a binary file object, an iterable of ``bytes`` chunks or an
    ``UploadFile``; ``aput`` also an async iterable (``request.stream()``). ``stream`` and
    ``astream`` read back a chunk (``storage.chunk_size``) at a time.
    """

    kind = "binary"

    def _source(self, key: str, data: object) -> tuple[bytes | None, Any]:
        """``(bytes, None)`` for in-memory data, ``(None, file)`` for a stream."""
        if isinstance(data, bytes):
            return data, None
        if isinstance(data, bytearray | memoryview):
            return bytes(data), None
        if isinstance(data, UploadFile):
            data.file.seek(0)  # the whole upload, even if the endpoint read some of it
            return None, data.file
        if isinstance(data, str):
            raise self._not_serializable(
                key, data, "binary objects are bytes; encode the str, or use storage.json"
            )
        if callable(getattr(data, "read", None)):
            return None, data
        if isinstance(data, Iterable):
            return None, buffered(
                IterableReader(key, iter(data)), self._storage.settings.chunk_size
            )
        raise self._not_serializable(
            key, data, "give bytes, a binary file object or an iterable of bytes"
        )

    def _content_type(self, key: str, data: object, content_type: str | None) -> str:
        # An UploadFile's type is the client's word: the local URL route never lets it run.
        given = content_type or getattr(data, "content_type", None)
        return given if isinstance(given, str) and given else guess_content_type(key)

    def put(self, key: str, data: BinaryData, content_type: str | None = None) -> None:
        """Store ``data`` at ``key``, replacing what was there.

        ``content_type`` defaults to an ``UploadFile``'s, else to what the key's extension
        suggests, else ``application/octet-stream``. File objects are read from where they
        are (an ``UploadFile`` from its start).
        """
        name = self._storage.name(key)
        content_type = self._content_type(key, data, content_type)
        payload, stream = self._source(key, data)
        if payload is not None:
            self._storage.backend.put_bytes(name, payload, content_type)
        else:
            self._storage.backend.put_stream(name, stream, content_type)

    async def aput(self, key: str, data: AsyncBinaryData, content_type: str | None = None) -> None:
        """Async :meth:`put`; an async iterable (``request.stream()``) streams straight through
        to the backend as it arrives."""
        name = self._storage.name(key)
        content_type = self._content_type(key, data, content_type)
        if isinstance(data, AsyncIterable):
            await self._storage.backend.aput_chunks(name, aiter(data), content_type)
            return
        payload, stream = self._source(key, data)
        if payload is not None:
            await self._storage.backend.aput_bytes(name, payload, content_type)
        else:
            await self._storage.backend.aput_stream(name, stream, content_type)

    def get(self, key: str) -> bytes | None:
        """The bytes at ``key``, or None when there is none."""
        return self._storage.backend.get_bytes(self._storage.name(key))

    async def aget(self, key: str) -> bytes | None:
        """Async :meth:`get`."""
        return await self._storage.backend.aget_bytes(self._storage.name(key))

    def stream(self, key: str, chunk_size: int | None = None) -> Iterator[bytes] | None:
        """The object at ``key`` in chunks, or None when there is none."""
        size = chunk_size or self._storage.settings.chunk_size
        return self._storage.backend.get_stream(self._storage.name(key), size)

    async def astream(self, key: str, chunk_size: int | None = None) -> AsyncIterator[bytes] | None:
        """Async :meth:`stream`, e.g. for a ``StreamingResponse``."""
        size = chunk_size or self._storage.settings.chunk_size
        return await self._storage.backend.aget_stream(self._storage.name(key), size)

    def info(self, key: str) -> ObjectInfo | None:
        """Size, content type and modification time of the object at ``key``, or None."""
        info = self._storage.backend.info(self._storage.name(key))
        return _with_key(info, key)

    async def ainfo(self, key: str) -> ObjectInfo | None:
        """Async :meth:`info`."""
        return _with_key(await self._storage.backend.ainfo(self._storage.name(key)), key)

    def url(self, key: str, expires: int | timedelta = 3600) -> str:
        """A URL anyone holding it may download the object from, for ``expires`` seconds.

        S3: a presigned URL. Local: a signed path the application serves (``storage.url_path``).
        """
        return self._storage.backend.url(self._storage.name(key), _seconds(expires))

    async def aurl(self, key: str, expires: int | timedelta = 3600) -> str:
        """Async :meth:`url`."""
        return await self._storage.backend.aurl(self._storage.name(key), _seconds(expires))


def _with_key(info: ObjectInfo | None, key: str) -> ObjectInfo | None:
    if info is None:
        return None
    return ObjectInfo(key, info.size, info.content_type, info.modified, info.etag)


def _seconds(expires: int | timedelta) -> int:
    seconds = int(expires.total_seconds()) if isinstance(expires, timedelta) else expires
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not 1 <= seconds <= MAX_URL_EXPIRY
    ):
        raise StorageError(
            f"expires={expires!r} is not a number of seconds between 1 and {MAX_URL_EXPIRY} "
            "(7 days, the most S3 allows)."
        )
    return seconds


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal):
        return str(value)
    if type(value).__module__.partition(".")[0] == "pandas":
        raise TypeError(
            f"a pandas {type(value).__name__} is not JSON; store it with storage.dataframe.put"
        )
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


@functools.lru_cache(maxsize=256)
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def _looks_like(data: bytes) -> str:
    if data[:4] == b"PAR1":
        return " (it is a Parquet file: use storage.dataframe.get)"
    return " (use storage.binary.get for raw bytes)"
