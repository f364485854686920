"""The ``s3`` backend (boto3): AWS S3 or any S3-compatible server (MinIO, SeaweedFS, moto).

boto3 rather than aioboto3/aiobotocore: it is the client AWS maintains, its transfer manager does
parallel multipart uploads and downloads, and its clients are thread-safe, so the async twins
run it in worker threads (see ``base.py``) at no loss for network-bound calls.

Object names are ``storage.s3.prefix`` + the key. Objects of ``multipart_threshold`` bytes or
more go up in parts (streams and DataFrames never sit whole in memory); listings follow
continuation tokens to the end.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ._streams import Chunks, full_reads
from .base import AbstractStorageBackend, ObjectInfo, Source
from .errors import InvalidKeyError, StorageBackendError, StorageConfigurationError

if TYPE_CHECKING:
    from ..settings import S3StorageSettings

__all__ = ["S3Storage"]

T = TypeVar("T")

_MISSING = {"404", "NoSuchKey", "NotFound"}
#: The longest object name S3 takes, in UTF-8 bytes.
MAX_OBJECT_NAME = 1024


class S3Storage(AbstractStorageBackend):
    """Objects in one S3 bucket, under an optional prefix."""

    def __init__(self, settings: S3StorageSettings, *, chunk_size: int = 1024 * 1024) -> None:
        super().__init__()
        if not settings.bucket:
            raise StorageConfigurationError(
                "storage.backend is 's3' but no bucket is set. Set storage.s3.bucket (or "
                "TAUSESTACK_STORAGE__S3__BUCKET, or the original TAUSESTACK_S3_BUCKET_NAME)."
            )
        self.bucket = settings.bucket
        self.prefix = settings.prefix.strip("/") + "/" if settings.prefix.strip("/") else ""
        self.endpoint_url = settings.endpoint_url
        self.chunk_size = chunk_size
        self.multipart_threshold = settings.multipart_threshold
        self.transfer = TransferConfig(
            multipart_threshold=settings.multipart_threshold,
            multipart_chunksize=settings.multipart_chunksize,
            max_concurrency=settings.max_concurrency,
        )
        config = Config(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            max_pool_connections=self.max_threads + settings.max_concurrency,
            s3={"addressing_style": settings.addressing_style},
        )
        secret = settings.secret_access_key
        self.client: Any = boto3.session.Session().client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key_id.get_secret_value()
            if settings.access_key_id
            else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            config=config,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        prefix = f" (prefix {self.prefix!r})" if self.prefix else ""
        return f"s3 bucket {self.bucket!r}{where}{prefix}"

    async def start(self) -> None:
        await self._in_thread(self.check_bucket)

    def check_bucket(self) -> None:
        """Raise StorageConfigurationError unless the bucket exists and is reachable."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            code = _code(exc)
            if code in {"404", "NoSuchBucket", "NotFound"}:
                fix = "create it, or fix storage.s3.bucket"
            elif code in {"403", "AccessDenied"}:
                fix = "the credentials may not use it; check them and the bucket policy"
            else:
                fix = "check storage.s3 settings"
            raise StorageConfigurationError(
                f"Cannot use {self.describe()}: {_reason(exc)}; {fix}."
            ) from None
        except BotoCoreError as exc:
            raise StorageConfigurationError(
                f"Cannot reach {self.describe()}: {exc}. Check storage.s3.endpoint_url and "
                "storage.s3.region, and that the server is running."
            ) from None

    async def stop(self) -> None:
        self.client.close()

    def _key(self, name: str) -> str:
        key = self.prefix + name
        if len(key.encode("utf-8")) > MAX_OBJECT_NAME:
            raise InvalidKeyError(
                f"Invalid storage key {name!r}: with the prefix {self.prefix!r} the object name "
                f"is longer than the {MAX_OBJECT_NAME} bytes S3 allows; shorten it."
            )
        return key

    def _missing(self, name: str, exc: ClientError, action: str) -> None:
        """Return (meaning: no such object) when ``exc`` says the object is missing; raise when
        it is the bucket that is missing, or another error.

        HEAD responses carry no error body, so a 404 there may mean either; one HEAD of the
        bucket, on misses only, tells them apart.
        """
        code = _code(exc)
        if code not in _MISSING:
            self._fail(action, name, exc)
        if code == "NoSuchKey":
            return
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as bucket_error:
            self._fail(action, name, bucket_error)

    def _fail(self, action: str, name: str, exc: Exception) -> NoReturn:
        raise StorageBackendError(
            f"Cannot {action} {name!r} on {self.describe()}: {_reason(exc)}."
        ) from None

    # -- writes ---------------------------------------------------------------------------------

    def put_bytes(self, name: str, data: bytes, content_type: str | None = None) -> None:
        if len(data) >= self.multipart_threshold:
            self.put_stream(name, io.BytesIO(data), content_type)
            return
        extra = {"ContentType": content_type} if content_type else {}
        key = self._key(name)
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        except (ClientError, BotoCoreError) as exc:
            self._fail("write", name, exc)

    def put_stream(self, name: str, source: Source, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        key = self._key(name)
        try:
            # The transfer manager sizes parts by read(n): it needs full reads.
            self.client.upload_fileobj(
                full_reads(source), self.bucket, key, ExtraArgs=extra, Config=self.transfer
            )
        except (ClientError, BotoCoreError) as exc:
            self._fail("write", name, exc)

    def put_path(
        self, name: str, writer: Callable[[Path], None], content_type: str | None = None
    ) -> None:
        key = self._key(name)
        with _temporary_path() as path:
            writer(path)
            extra = {"ContentType": content_type} if content_type else None
            try:
                self.client.upload_file(
                    str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer
                )
            except (ClientError, BotoCoreError) as exc:
                self._fail("write", name, exc)

    # -- reads ----------------------------------------------------------------------------------

    def _get_object(self, name: str) -> Any:
        key = self._key(name)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            self._missing(name, exc, "read")
            return None
        except BotoCoreError as exc:
            self._fail("read", name, exc)

    def get_bytes(self, name: str) -> bytes | None:
        response = self._get_object(name)
        if response is None:
            return None
        try:
            data: bytes = response["Body"].read()
        except BotoCoreError as exc:
            self._fail("read", name, exc)
        return data

    def get_stream(self, name: str, chunk_size: int) -> Iterator[bytes] | None:
        response = self._get_object(name)
        if response is None:
            return None
        body = response["Body"]

        def read(size: int) -> bytes:
            try:
                chunk: bytes = body.read(size)
            except BotoCoreError as exc:
                self._fail("read", name, exc)
            return chunk

        return Chunks(read, body.close, chunk_size)

    def get_path(self, name: str, reader: Callable[[Path], T]) -> T | None:
        key = self._key(name)
        with _temporary_path() as path:
            try:
                self.client.download_file(self.bucket, key, str(path), Config=self.transfer)
            except ClientError as exc:
                self._missing(name, exc, "read")
                return None
            except BotoCoreError as exc:
                self._fail("read", name, exc)
            return reader(path)

    def _head(self, name: str) -> dict[str, Any] | None:
        key = self._key(name)
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            self._missing(name, exc, "read")
            return None
        except BotoCoreError as exc:
            self._fail("read", name, exc)
        return head

    def exists(self, name: str) -> bool:
        return self._head(name) is not None

    def info(self, name: str) -> ObjectInfo | None:
        head = self._head(name)
        if head is None:
            return None
        etag = str(head.get("ETag", "")).strip('"') or None
        return ObjectInfo(
            name,
            int(head["ContentLength"]),
            head.get("ContentType"),
            head.get("LastModified"),
            etag,
        )

    def list(self, prefix: str = "") -> list[str]:
        names: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                names += [
                    item["Key"][len(self.prefix) :]
                    for item in page.get("Contents", ())
                    if not item["Key"].endswith("/")  # folder markers some servers keep
                ]
        except (ClientError, BotoCoreError) as exc:
            self._fail("list", prefix or "(all keys)", exc)
        return sorted(names, key=lambda name: name.encode())

    # -- delete, URLs ---------------------------------------------------------------------------

    def delete(self, name: str) -> None:
        key = self._key(name)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            self._missing(name, exc, "delete")
        except BotoCoreError as exc:
            self._fail("delete", name, exc)

    def url(self, name: str, expires: int) -> str:
        key = self._key(name)
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )
        return url


@contextlib.contextmanager
def _temporary_path() -> Iterator[Path]:
    handle, name = tempfile.mkstemp(prefix="tausestack-s3-")
    os.close(handle)
    path = Path(name)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "error")
        message = error.get("Message") or exc.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode", ""
        )
        return f"{code} {message}".strip()
    return str(exc)
