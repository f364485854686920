"""The ``local`` backend: objects are files under one folder, the key their relative path.

Every write goes to a temporary file in the target's folder and is renamed over the target
(``os.replace``, atomic on POSIX and Windows), so readers see the old object or the new one,
never half of one, and a failure leaves the old object in place. ``storage.local.fsync: true``
also flushes the file to disk before the rename, and the folder after it, for durability across
a power loss.

Temporary files of a process killed mid-write (``.~tmp-<hex>`` next to their target) are never
listed, and are left for an operator to remove.

One limit of a filesystem: a key cannot be an object and a folder at once (``a`` and ``a/b``);
S3 allows it, this backend says so with a clear error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, TypeVar

from ._keys import TEMPORARY_MARK, guess_content_type
from ._signed_urls import UrlSigner
from ._streams import Chunks
from .base import AbstractStorageBackend, ObjectInfo, Source
from .errors import StorageBackendError, StorageConfigurationError

__all__ = ["LocalStorage"]

T = TypeVar("T")

#: Where a content type given to ``put`` is kept, on filesystems with extended attributes.
_CONTENT_TYPE_ATTRIBUTE = "user.tausestack.content_type"


class LocalStorage(AbstractStorageBackend):
    """Objects as files under ``root``."""

    def __init__(
        self,
        root: Path,
        *,
        chunk_size: int = 1024 * 1024,
        signer: UrlSigner | None = None,
        fsync: bool = False,
    ) -> None:
        super().__init__()
        self.root = root.resolve()
        self.chunk_size = chunk_size
        self.fsync = fsync
        self._signer = signer

    def describe(self) -> str:
        return f"local folder {self.root}"

    async def start(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageConfigurationError(
                f"Cannot create the storage folder {self.root}: {exc.strerror or exc}. Point "
                "storage.local.root at a folder this process may write."
            ) from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StorageConfigurationError(
                f"The storage folder {self.root} is not writable by this process. Fix its "
                "permissions or point storage.local.root elsewhere."
            )

    def path_of(self, name: str) -> Path:
        """The file that holds object ``name`` (it may not exist)."""
        return self.root / name

    # -- writes ---------------------------------------------------------------------------------

    def put_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        self._write(name, lambda file: file.write(data), content_type)

    def put_stream(self, name: str, source: Source, content_type: str | None = None) -> None:
        self._write(
            name, lambda file: shutil.copyfileobj(source, file, self.chunk_size), content_type
        )

    def put_path(
        self, name: str, writer: Callable[[Path], None], content_type: str | None = None
    ) -> None:
        target, temporary = self._prepare(name)
        try:
            writer(temporary)
            if self.fsync:
                with temporary.open("rb+") as file:
                    os.fsync(file.fileno())
            self._commit(name, temporary, target, content_type)
        except BaseException as exc:
            raise self._abandon(name, temporary, exc) from None

    def _write(self, name: str, fill: Callable[[Source], object], content_type: str | None) -> None:
        target, temporary = self._prepare(name)
        try:
            with temporary.open("wb") as file:
                fill(file)
                if self.fsync:
                    file.flush()
                    os.fsync(file.fileno())
            self._commit(name, temporary, target, content_type)
        except BaseException as exc:
            raise self._abandon(name, temporary, exc) from None

    def _abandon(self, name: str, temporary: Path, exc: BaseException) -> BaseException:
        """Remove what a failed write left; the error to raise (OSErrors say what failed)."""
        self._discard(temporary)
        return self._error("write", name, exc) if isinstance(exc, OSError) else exc

    def _prepare(self, name: str) -> tuple[Path, Path]:
        """The target's path, and a new empty temporary file next to it.

        The temporary file keeps its folder from being pruned by a concurrent delete in the
        same folder; if the folder goes between the mkdir and the create, try again.
        """
        target = self.root / name
        temporary = target.parent / f"{TEMPORARY_MARK}{uuid.uuid4().hex}"
        attempts = 3
        while True:
            attempts -= 1
            try:
                if not target.parent.is_dir():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if self.fsync:
                        self._sync_folders(target.parent)
                temporary.touch(exist_ok=False)  # 0o666 less the umask, like any new file
                return target, temporary
            except FileNotFoundError as exc:
                if not attempts:
                    raise self._error("write", name, exc) from None
            except (FileExistsError, NotADirectoryError):
                raise self._folder_conflict(name) from None
            except OSError as exc:
                raise self._error("write", name, exc) from None

    def _commit(self, name: str, temporary: Path, target: Path, content_type: str | None) -> None:
        if content_type:
            with contextlib.suppress(OSError, AttributeError):  # no xattrs here: guessed on read
                os.setxattr(temporary, _CONTENT_TYPE_ATTRIBUTE, content_type.encode())
        try:
            os.replace(temporary, target)
        except IsADirectoryError:
            raise self._folder_conflict(name) from None
        if self.fsync:  # the rename itself reaches the disk only with its folder
            self._sync_folders(target.parent, stop_at=target.parent)

    def _sync_folders(self, folder: Path, stop_at: Path | None = None) -> None:
        """fsync ``folder`` and its parents up to the root (or just ``stop_at``)."""
        while True:
            descriptor = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if folder == (stop_at or self.root) or self.root not in folder.parents:
                return
            folder = folder.parent

    def _discard(self, temporary: Path) -> None:
        temporary.unlink(missing_ok=True)
        self._prune(temporary.parent)

    def _folder_conflict(self, name: str) -> StorageBackendError:
        return StorageBackendError(
            f"Cannot store {name!r} on {self.describe()}: part of it is both an object and a "
            "folder (for example 'a' and 'a/b'). On the local backend a key cannot be both; "
            "rename one of them."
        )

    def _error(self, action: str, name: str, exc: OSError) -> StorageBackendError:
        reason = exc.strerror or str(exc)
        return StorageBackendError(
            f"Cannot {action} {name!r} on {self.describe()}: {reason}. Nothing was changed."
        )

    # -- reads ----------------------------------------------------------------------------------

    def get_bytes(self, name: str) -> bytes | None:
        try:
            return (self.root / name).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._error("read", name, exc) from None

    def open(self, name: str) -> BinaryIO | None:
        """The object's file, open for reading, or None if it is missing. Close it when done.

        The open file keeps its content even if the object is replaced meanwhile.
        """
        try:
            return (self.root / name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        except OSError as exc:
            raise self._error("read", name, exc) from None

    def get_stream(self, name: str, chunk_size: int) -> Iterator[bytes] | None:
        file = self.open(name)
        return None if file is None else Chunks(file.read, file.close, chunk_size)

    def get_path(self, name: str, reader: Callable[[Path], T]) -> T | None:
        path = self.root / name
        if not path.is_file():
            return None
        try:
            return reader(path)
        except FileNotFoundError:  # deleted between the check and the read
            return None
        except OSError as exc:
            raise self._error("read", name, exc) from None

    def exists(self, name: str) -> bool:
        return (self.root / name).is_file()

    def info(self, name: str) -> ObjectInfo | None:
        path = self.root / name
        try:
            status = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        content_type = self.content_type_of(path) or guess_content_type(name)
        modified = datetime.fromtimestamp(status.st_mtime, UTC)
        return ObjectInfo(name, status.st_size, content_type, modified)

    def content_type_of(self, path: Path) -> str | None:
        """The content type given when the object was stored, if the filesystem kept it."""
        try:
            return os.getxattr(path, _CONTENT_TYPE_ATTRIBUTE).decode()
        except (OSError, AttributeError, UnicodeDecodeError):
            return None

    def list(self, prefix: str = "") -> list[str]:
        folder, _, _ = prefix.rpartition("/")
        start = self.root / folder if folder else self.root
        if not start.is_dir():
            return []
        names = []
        for directory, _folders, files in os.walk(start):
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            base = "" if relative == "." else relative + "/"
            names += [
                base + file
                for file in files
                if not file.startswith(TEMPORARY_MARK) and (base + file).startswith(prefix)
            ]
        return sorted(names, key=lambda name: name.encode())

    # -- delete, URLs ---------------------------------------------------------------------------

    def delete(self, name: str) -> None:
        path = self.root / name
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise self._error("delete", name, exc) from None
        self._prune(path.parent)

    def _prune(self, folder: Path) -> None:
        """Remove ``folder`` and its parents while they are empty, up to the root, so a delete
        or a failed write leaves no empty folders behind."""
        while folder != self.root and self.root in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    def url(self, name: str, expires: int) -> str:
        if self._signer is None:
            raise StorageConfigurationError(
                "This LocalStorage has no URL signer; build it with signer=UrlSigner(...) or "
                "through the application's settings."
            )
        return self._signer.url(name, expires)
