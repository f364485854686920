"""The interface every storage backend implements: bytes in and out of named objects.

A backend knows nothing of JSON or DataFrames or keys: the kinds (``storage.json``…) serialize,
and :class:`~tausestack.sdk.storage.Storage` validates keys and maps them to object names before
a backend sees them. A backend implements the sync methods; the async twins run them in worker
threads by default (both built-in backends use blocking libraries), and a backend with a native
async client overrides them.

Writes are all-or-nothing: a failed ``put_*`` (an exception from the source or the writer, a
full disk, a dropped connection) leaves the previous object, or no object, in place.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread

from ._streams import AsyncIterableReader, buffered

__all__ = ["AbstractStorageBackend", "ObjectInfo"]

T = TypeVar("T")
_list = list
P = ParamSpec("P")

#: What a backend reads objects into: a readable binary file.
Source = IO[bytes]


@dataclass(frozen=True)
class ObjectInfo:
    """What a backend knows of one stored object."""

    key: str
    size: int
    content_type: str | None
    modified: datetime | None
    etag: str | None = None


class AbstractStorageBackend(ABC):
    """Named objects of bytes: put, get, stream, delete, list, sign URLs.

    Names are validated keys (``reports/2026.json``), possibly under a tenant's namespace; a
    backend may prepend its own prefix but must map one name to one object.
    """

    #: Threads the async twins may use at once for this backend.
    max_threads = 32

    def __init__(self) -> None:
        self._limiter: anyio.CapacityLimiter | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Check the backend is usable (folder writable, bucket there); called at app startup."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called at app shutdown."""

    @abstractmethod
    def describe(self) -> str:
        """Where objects go, for error messages: ``local folder /srv/data``, ``s3 bucket b``."""

    # -- sync -----------------------------------------------------------------------------------

    @abstractmethod
    def put_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        """Store ``data`` as object ``name``, replacing it atomically."""

    @abstractmethod
    def put_stream(self, name: str, source: Source, content_type: str | None = None) -> None:
        """Store what ``source.read()`` gives, a chunk at a time, replacing ``name`` atomically."""

    @abstractmethod
    def put_path(
        self, name: str, writer: Callable[[Path], None], content_type: str | None = None
    ) -> None:
        """Call ``writer(path)`` to write the object into a temporary file (which may exist,
        empty), then store that file as ``name`` atomically.

        For libraries that write fastest to a path (pyarrow). Nothing is stored if ``writer``
        raises.
        """

    @abstractmethod
    def get_bytes(self, name: str) -> bytes | None:
        """The object's bytes, or None if there is no such object."""

    @abstractmethod
    def get_stream(self, name: str, chunk_size: int) -> Iterator[bytes] | None:
        """The object's bytes in chunks of at most ``chunk_size``, or None if it is missing.

        The miss is detected before returning. The iterator holds the object open until it is
        exhausted or closed (``close()``), and closes it when garbage-collected.
        """

    @abstractmethod
    def get_path(self, name: str, reader: Callable[[Path], T]) -> T | None:
        """``reader(path)`` of a file holding the object, or None if it is missing."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove the object; nothing happens when it does not exist."""

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether the object exists."""

    @abstractmethod
    def list(self, prefix: str = "") -> _list[str]:
        """Names of every object starting with ``prefix``, sorted by their UTF-8 bytes."""

    @abstractmethod
    def info(self, name: str) -> ObjectInfo | None:
        """Size, content type and modification time of the object, or None if it is missing."""

    @abstractmethod
    def url(self, name: str, expires: int) -> str:
        """A URL that lets anyone holding it download the object for ``expires`` seconds."""

    # -- async twins ----------------------------------------------------------------------------

    async def _in_thread(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.max_threads)
        call = functools.partial(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    async def aput_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        """Async :meth:`put_bytes`."""
        await self._in_thread(self.put_bytes, name, data, content_type)

    async def aput_stream(self, name: str, source: Source, content_type: str | None = None) -> None:
        """Async :meth:`put_stream` (``source`` is read in a worker thread)."""
        await self._in_thread(self.put_stream, name, source, content_type)

    async def aput_chunks(
        self, name: str, chunks: AsyncIterator[Any], content_type: str | None = None
    ) -> None:
        """Store what an async iterator of ``bytes`` gives, replacing ``name`` atomically.

        By default :meth:`put_stream` runs in a worker thread and pulls each chunk from the
        event loop as it needs it, so the data streams through without being buffered whole.
        A chunk that is not bytes, or an exception from the iterator, stores nothing.
        """
        reader = buffered(AsyncIterableReader(name, chunks))
        await self._in_thread(self.put_stream, name, reader, content_type)

    async def aput_path(
        self, name: str, writer: Callable[[Path], None], content_type: str | None = None
    ) -> None:
        """Async :meth:`put_path` (``writer`` runs in a worker thread)."""
        await self._in_thread(self.put_path, name, writer, content_type)

    async def aget_bytes(self, name: str) -> bytes | None:
        """Async :meth:`get_bytes`."""
        return await self._in_thread(self.get_bytes, name)

    async def aget_stream(self, name: str, chunk_size: int) -> AsyncIterator[bytes] | None:
        """Async :meth:`get_stream`: each chunk is read in a worker thread."""
        chunks = await self._in_thread(self.get_stream, name, chunk_size)
        if chunks is None:
            return None
        return self._iterate_in_threads(chunks)

    async def _iterate_in_threads(self, chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
        done = object()
        try:
            while True:
                chunk: Any = await self._in_thread(next, chunks, done)
                if chunk is done:
                    return
                yield chunk
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                # Also when cancelled (a client that disconnects from a StreamingResponse).
                with anyio.CancelScope(shield=True):
                    await self._in_thread(close)

    async def aget_path(self, name: str, reader: Callable[[Path], T]) -> T | None:
        """Async :meth:`get_path` (``reader`` runs in a worker thread)."""
        return await self._in_thread(self.get_path, name, reader)

    async def adelete(self, name: str) -> None:
        """Async :meth:`delete`."""
        await self._in_thread(self.delete, name)

    async def aexists(self, name: str) -> bool:
        """Async :meth:`exists`."""
        return await self._in_thread(self.exists, name)

    async def alist(self, prefix: str = "") -> _list[str]:
        """Async :meth:`list`."""
        return await self._in_thread(self.list, prefix)

    async def ainfo(self, name: str) -> ObjectInfo | None:
        """Async :meth:`info`."""
        return await self._in_thread(self.info, name)

    async def aurl(self, name: str, expires: int) -> str:
        """Async :meth:`url`."""
        return await self._in_thread(self.url, name, expires)
