"""Storage's providers, added to an app's container when something in it uses storage.

``create_app()`` adds them when a component or route asks for ``Storage`` or a storage backend,
or when a module of an installed app uses ``tausestack.sdk.storage``. With the local backend the
app also serves signed URLs at ``storage.url_path``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ...settings import Settings
from ._signed_urls import UrlSigner, router
from ._storage import Storage
from .base import AbstractStorageBackend
from .errors import InvalidKeyError

APP = "tausestack.sdk.storage"


def storage_backend(storage: Storage) -> AbstractStorageBackend:
    """The backend the settings chose."""
    return storage.backend


def providers(wanted: set[Any]) -> list[Provider]:
    """Storage's providers for one container."""
    return [
        class_provider(Storage, ComponentSpec(kind="component"), app=APP),
        function_provider(storage_backend, ComponentSpec(kind="provider"), app=APP),
    ]


async def invalid_key(request: Request, exc: Exception) -> JSONResponse:
    """A key that reaches storage from a request and breaks the rules is the client's error."""
    return JSONResponse({"detail": str(exc)}, status_code=400)


def exception_handlers() -> dict[type[Exception], Any]:
    """An invalid key is a 400; storage's other errors are the server's, a 500."""
    return {InvalidKeyError: invalid_key}


def routers(settings: Settings) -> list[APIRouter]:
    """The signed-URL route, for the local backend."""
    if settings.storage.backend != "local":
        return []
    return [router(UrlSigner.from_settings(settings))]
