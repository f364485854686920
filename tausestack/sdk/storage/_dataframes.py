"""DataFrames as Parquet files, written and read by pyarrow straight to and from a file path.

pandas and pyarrow are imported on first use, so an app that never stores a DataFrame never
loads them (``pip install 'tausestack[data]'`` installs both).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._kinds import _Kind
from .errors import StorageConfigurationError, StorageSerializationError

if TYPE_CHECKING:
    import pandas

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"
COMPRESSIONS = ("snappy", "zstd", "gzip", "brotli", "lz4", "none")


class DataFrames(_Kind):
    """pandas DataFrames, stored as Parquet (compression from ``storage.dataframe_compression``).

    Example::

        storage.dataframe.put("sales/2026", frame)
        frame = await storage.dataframe.aget("sales/2026", columns=["region", "total"])
    """

    kind = "DataFrame"

    def _writer(self, key: str, frame: object, compression: str | None) -> Any:
        pandas, pyarrow, parquet = _libraries()
        if not isinstance(frame, pandas.DataFrame):
            raise self._not_serializable(
                key,
                frame,
                "storage.dataframe stores pandas DataFrames; use storage.json or "
                "storage.binary for other values",
            )
        chosen = compression or self._storage.settings.dataframe_compression
        if chosen not in COMPRESSIONS:
            raise StorageSerializationError(
                f"Unknown Parquet compression {chosen!r} for {key!r}; choose one of "
                f"{', '.join(COMPRESSIONS)}."
            )

        def write(path: Path) -> None:
            try:
                table = pyarrow.Table.from_pandas(frame)
            except (pyarrow.ArrowException, TypeError, ValueError) as exc:
                raise self._not_serializable(
                    key, frame, f"pyarrow cannot convert it: {exc}"
                ) from None
            parquet.write_table(table, str(path), compression=chosen)

        return write

    def _wrong_kind(self, key: str, start: bytes) -> StorageSerializationError:
        kind = "storage.json.get" if _holds_json(start) else "storage.binary.get"
        return StorageSerializationError(
            f"The object at {key!r} on {self._storage.backend.describe()} is not a Parquet "
            f"file; read it with {kind}."
        )

    def _reader(self, key: str, columns: list[str] | None) -> Any:
        _, pyarrow, parquet = _libraries()

        def read(path: Path) -> pandas.DataFrame:
            # One open for the whole read: a concurrent replace cannot mix two files.
            with pyarrow.OSFile(str(path)) as source:
                magic = source.read(4)
                source.seek(0)
                if magic != b"PAR1":
                    raise self._wrong_kind(key, magic + source.read(1))
                try:
                    table = parquet.read_table(source, columns=columns)
                except pyarrow.ArrowInvalid as exc:
                    raise StorageSerializationError(
                        f"Cannot read the DataFrame at {key!r}: {exc}"
                    ) from None
            return table.to_pandas()

        return read

    def put(self, key: str, frame: pandas.DataFrame, *, compression: str | None = None) -> None:
        """Store ``frame`` at ``key`` as Parquet, replacing what was there."""
        name = self._storage.name(key)
        writer = self._writer(key, frame, compression)
        self._storage.backend.put_path(name, writer, PARQUET_CONTENT_TYPE)

    async def aput(
        self, key: str, frame: pandas.DataFrame, *, compression: str | None = None
    ) -> None:
        """Async :meth:`put` (the conversion and the write run in a worker thread)."""
        name = self._storage.name(key)
        writer = self._writer(key, frame, compression)
        await self._storage.backend.aput_path(name, writer, PARQUET_CONTENT_TYPE)

    def get(self, key: str, *, columns: list[str] | None = None) -> pandas.DataFrame | None:
        """The DataFrame at ``key`` (only ``columns`` if given), or None when there is none."""
        return self._storage.backend.get_path(self._storage.name(key), self._reader(key, columns))

    async def aget(self, key: str, *, columns: list[str] | None = None) -> pandas.DataFrame | None:
        """Async :meth:`get` (the read runs in a worker thread)."""
        name = self._storage.name(key)
        return await self._storage.backend.aget_path(name, self._reader(key, columns))


def _holds_json(start: bytes) -> bool:
    return start.lstrip()[:1] in {b"{", b"[", b'"'} or start.lstrip()[:1].isdigit()


def _libraries() -> tuple[Any, Any, Any]:
    try:
        import pandas
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise StorageConfigurationError(
            f"storage.dataframe needs pandas and pyarrow ({exc.name} is missing); install them "
            "with `pip install 'tausestack[data]'`."
        ) from None
    return pandas, pyarrow, pyarrow.parquet
