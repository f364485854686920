"""The ``dotenv`` backend: ``KEY=value`` lines in a file (python-dotenv's syntax).

The file is parsed once and again whenever its modification time or size changes, so rotating a
secret means rewriting the file; a missing file holds no secrets (``get`` returns None).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from dotenv import dotenv_values

from .base import AbstractSecretsBackend
from .errors import SecretsBackendError

__all__ = ["DotenvSecrets"]


class DotenvSecrets(AbstractSecretsBackend):
    """Secrets from one dotenv file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._values: dict[str, str | None] = {}

    def describe(self) -> str:
        return f"the dotenv file {self.path}"

    def get(self, name: str) -> str | None:
        return self._current().get(name)

    async def aget(self, name: str) -> str | None:
        return self.get(name)  # a stat per call; the file is read only when it changed

    def _current(self) -> dict[str, str | None]:
        try:
            status = os.stat(self.path)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretsBackendError(
                f"Cannot read {self.describe()}: {exc.strerror or exc}."
            ) from None
        stamp = (status.st_mtime_ns, status.st_size)
        with self._lock:
            if stamp != self._stamp:
                try:
                    self._values = dict(dotenv_values(self.path))
                except (OSError, UnicodeDecodeError) as exc:
                    raise SecretsBackendError(f"Cannot read {self.describe()}: {exc}.") from None
                self._stamp = stamp
            return self._values
