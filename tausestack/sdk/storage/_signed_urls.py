"""Signed URLs for the local backend: HMAC-SHA256 over the object name and the expiry time.

``binary.url(key)`` on S3 is a presigned S3 URL. On the local backend the application itself
serves the object at ``storage.url_path`` (``/_storage`` by default), to whoever holds a URL
whose signature and expiry check out; anything else is a 403 that does not say whether the
object exists.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from typing import TYPE_CHECKING
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool

from ._keys import guess_content_type
from ._streams import Chunks
from .errors import StorageConfigurationError

if TYPE_CHECKING:
    from ...settings import Settings

#: Used in the ``dev`` and ``test`` profiles when no ``storage.url_signing_key`` is set: URLs
#: then work only in the process that signed them (one worker, as ``tausestack run`` starts in
#: dev, or one test session).
_EPHEMERAL_KEY = secrets.token_bytes(32)
EPHEMERAL_KEY_PROFILES = ("dev", "test")
_EXPIRES = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_GENERATE = "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"


class UrlSigner:
    """Signs and checks ``(name, expires_at)`` pairs with one secret key."""

    def __init__(self, key: bytes, path: str, root_path: str = "") -> None:
        self._key = key
        self.path = path.rstrip("/")
        #: Prepended to the URLs handed out, for an app served under a path prefix.
        self.root_path = root_path.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlSigner:
        """The signer the settings describe; refuses to go without a key outside dev and test.

        Raises:
            StorageConfigurationError: the key is missing (outside ``dev`` and ``test``) or too
                short, or ``storage.url_path`` is not a path; the message never shows the key.
        """
        path = settings.storage.url_path
        if not path.startswith("/") or not path.strip("/"):
            raise StorageConfigurationError(
                f"storage.url_path {path!r} must be a path below '/' (for example '/_storage')."
            )
        return cls(_signing_key(settings), path, settings.app.root_path)

    def signature(self, name: str, expires_at: int) -> str:
        message = f"{name}\n{expires_at}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def url(self, name: str, expires: int) -> str:
        """A path-and-query URL (``/_storage/reports/a.pdf?expires=…&signature=…``)."""
        if not self._key:
            raise StorageConfigurationError(
                "This UrlSigner has an empty key, so its URLs would be forgeable; build it with "
                "32+ random bytes, or from the settings (UrlSigner.from_settings)."
            )
        expires_at = int(time.time()) + expires
        signature = self.signature(name, expires_at)
        path = f"{self.root_path}{self.path}/{quote(name)}"
        return f"{path}?expires={expires_at}&signature={signature}"

    def check(self, name: str, expires: str, signature: str) -> bool:
        """Whether the URL's signature is right and it has not expired (malformed: False)."""
        if not self._key or not _EXPIRES.fullmatch(expires) or not _SIGNATURE.fullmatch(signature):
            return False
        expected = self.signature(name, int(expires))
        return hmac.compare_digest(expected, signature) and int(expires) >= time.time()


def _signing_key(settings: Settings) -> bytes:
    configured = settings.storage.url_signing_key
    if configured is None:
        if settings.profile in EPHEMERAL_KEY_PROFILES:
            return _EPHEMERAL_KEY
        raise StorageConfigurationError(
            f"storage.url_signing_key is not set in profile {settings.profile!r}, and the local "
            "storage backend needs it to sign the URLs binary.url() gives (every worker must "
            "sign with the same key; only the 'dev' and 'test' profiles make up a random one). "
            "Set it to 32+ random characters: TAUSESTACK_STORAGE__URL_SIGNING_KEY in the "
            "environment, or `url_signing_key: ${secret:STORAGE_URL_SIGNING_KEY}` under "
            f"storage: in application-{settings.profile}.yaml. Generate one with {_GENERATE}."
        )
    key = configured.get_secret_value()
    if len(key) < 32:
        where = settings.source_of("storage", "url_signing_key")
        raise StorageConfigurationError(
            f"storage.url_signing_key (set in {where}) is shorter than 32 characters; generate "
            f"one with {_GENERATE}."
        )
    return key.encode()


#: Types a browser may show inline; anything else is downloaded, so stored HTML or SVG never
#: runs on the application's origin.
_INLINE_TYPES = frozenset(
    {
        "application/pdf",
        "text/plain",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
    }
)


def _headers(name: str, content_type: str, size: int) -> dict[str, str]:
    base_type = content_type.partition(";")[0].strip().lower()
    inline = base_type in _INLINE_TYPES or base_type.startswith(("audio/", "video/"))
    disposition = "inline" if inline else "attachment"
    filename = quote(name.rpartition("/")[2])
    return {
        "content-type": content_type,
        "content-length": str(size),
        "content-disposition": f"{disposition}; filename*=UTF-8''{filename}",
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
        "cache-control": "private, no-store",
    }


def router(signer: UrlSigner) -> APIRouter:
    """The route that serves signed URLs of the local backend (hidden from the OpenAPI schema).

    The file is opened once, before the response starts, so a concurrent replace cannot mix
    two versions (the open file keeps its content). Range requests are not supported.
    """
    serving = APIRouter(include_in_schema=False)

    @serving.api_route(
        signer.path + "/{name:path}", methods=["GET", "HEAD"], name="tausestack_storage_object"
    )
    async def storage_object(
        request: Request, name: str, expires: str = "", signature: str = ""
    ) -> Response:
        from . import Storage
        from .local import LocalStorage

        if not signer.check(name, expires, signature):
            raise HTTPException(status_code=403, detail="Invalid or expired storage URL.")
        backend = request.app.container.get(Storage).backend
        if not isinstance(backend, LocalStorage):
            raise HTTPException(status_code=404, detail="No such object.")
        file = await anyio.to_thread.run_sync(backend.open, name)
        if file is None:
            raise HTTPException(status_code=404, detail="No such object.")
        size = os.fstat(file.fileno()).st_size
        content_type = backend.content_type_of(backend.path_of(name)) or guess_content_type(name)
        headers = _headers(name, content_type, size)
        if request.method == "HEAD":
            file.close()
            return Response(headers=headers)
        chunks = Chunks(file.read, file.close, backend.chunk_size)
        return StreamingResponse(iterate_in_threadpool(chunks), headers=headers)

    return serving
