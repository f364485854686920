"""The ``env`` backend: secrets are environment variables (the default)."""

from __future__ import annotations

import os

from .base import AbstractSecretsBackend

__all__ = ["EnvSecrets"]


class EnvSecrets(AbstractSecretsBackend):
    """``get("STRIPE_KEY")`` reads the variable ``<prefix>STRIPE_KEY``."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix

    def describe(self) -> str:
        where = f" starting with {self.prefix!r}" if self.prefix else ""
        return f"environment variables{where}"

    def get(self, name: str) -> str | None:
        return os.environ.get(self.prefix + name)

    async def aget(self, name: str) -> str | None:
        return self.get(name)  # no I/O: no thread
