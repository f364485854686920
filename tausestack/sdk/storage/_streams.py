"""File-like adapters between the shapes data arrives in and what backends read.

- :class:`Chunks` — a closable iterator over a file's chunks; closes the file when exhausted,
  closed, or garbage-collected, even if iteration never started.
- :class:`IterableReader` — a readable file over an iterator of ``bytes`` chunks.
- :class:`AsyncIterableReader` — a readable file, read in a worker thread, over an async
  iterator that runs on the event loop (``request.stream()``), so an upload streams through
  without being buffered.
- :func:`full_reads` — a reader whose ``read(n)`` returns ``n`` bytes unless at the end, which
  S3's transfer manager needs to size multipart parts.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Iterator
from typing import IO, Any

import anyio.from_thread
import anyio.lowlevel

from .errors import StorageSerializationError

_BYTES = (bytes, bytearray, memoryview)


class Chunks(Iterator[bytes]):
    """The chunks of an open resource (file, HTTP body); closed when done or dropped."""

    def __init__(
        self, read: Callable[[int], bytes], close: Callable[[], object], chunk_size: int
    ) -> None:
        self._read = read
        self._close: Callable[[], object] | None = close
        self._chunk_size = chunk_size

    @property
    def closed(self) -> bool:
        return self._close is None

    def __iter__(self) -> Chunks:
        return self

    def __next__(self) -> bytes:
        if self._close is None:
            raise StopIteration
        try:
            chunk = self._read(self._chunk_size)
        except BaseException:
            self.close()
            raise
        if not chunk:
            self.close()
            raise StopIteration
        return chunk

    def close(self) -> None:
        close, self._close = self._close, None
        if close is not None:
            close()

    def __del__(self) -> None:
        self.close()


def _checked(key: str, chunk: object) -> memoryview:
    if not isinstance(chunk, _BYTES):
        raise StorageSerializationError(
            f"Cannot store at {key!r}: the stream gave a {type(chunk).__name__} chunk, not "
            "bytes. Nothing was written."
        )
    return memoryview(chunk).cast("B")


class IterableReader(io.RawIOBase):
    """A readable file over an iterator of bytes chunks (wrap it in a BufferedReader)."""

    def __init__(self, key: str, chunks: Iterator[Any]) -> None:
        super().__init__()
        self._key = key
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _next(self) -> Any:
        return next(self._chunks, None)

    def readinto(self, target: Any) -> int:
        while not self._pending:
            chunk = self._next()
            if chunk is None:
                return 0
            self._pending = _checked(self._key, chunk)
        size = min(len(target), len(self._pending))
        target[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class AsyncIterableReader(IterableReader):
    """Reads an async iterator from any thread, each chunk fetched on the event loop.

    Build it on the event loop (it keeps the loop's token); read it from other threads only —
    a worker thread, or the threads S3's transfer manager starts.
    """

    def __init__(self, key: str, chunks: AsyncIterator[Any]) -> None:
        super().__init__(key, iter(()))
        self._async_chunks = chunks
        self._token = anyio.lowlevel.current_token()

    def _next(self) -> Any:
        return anyio.from_thread.run(self._anext, token=self._token)

    async def _anext(self) -> Any:
        return await anext(self._async_chunks, None)


def buffered(raw: io.RawIOBase, size: int = 1024 * 1024) -> io.BufferedReader:
    """``raw`` behind a buffer, so ``read(n)`` gathers chunks up to ``n`` bytes."""
    return io.BufferedReader(raw, size)


class _FullReads(io.RawIOBase):
    def __init__(self, source: IO[bytes]) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._source.read(len(target))
        size = len(data)
        target[:size] = data
        return size


def full_reads(source: IO[bytes]) -> IO[bytes]:
    """``source`` as is when it is a seekable or buffered file, else behind a buffer."""
    if isinstance(source, io.BufferedIOBase | io.BytesIO):
        return source
    seekable = getattr(source, "seekable", None)
    if callable(seekable) and seekable():
        return source
    return buffered(_FullReads(source))
