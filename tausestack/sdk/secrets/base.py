"""The interface of a secrets backend: a secret's raw text by name, or None.

A backend only reads. The facade (:class:`~tausestack.sdk.secrets.Secrets`) validates names,
parses JSON secrets for ``field=`` and wraps values in ``SecretStr``. The async twin runs the
sync method in a worker thread unless a backend overrides it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import anyio.to_thread

__all__ = ["AbstractSecretsBackend"]


class AbstractSecretsBackend(ABC):
    """Reads secrets by name."""

    @abstractmethod
    def describe(self) -> str:
        """Where secrets come from, for error messages (``environment variables``…)."""

    @abstractmethod
    def get(self, name: str) -> str | None:
        """The secret's text, or None when the backend has no secret of that name."""

    async def aget(self, name: str) -> str | None:
        """Async :meth:`get` (in a worker thread by default)."""
        return await anyio.to_thread.run_sync(self.get, name)

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Check the backend can be reached; called at application startup."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called at application shutdown."""
