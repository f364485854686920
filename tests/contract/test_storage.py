"""The storage contract: every kind, on the local folder, moto's S3 server and SeaweedFS.

The S3 backends talk to real servers over HTTP (``tests/servers.py``); each test gets a new
bucket. What one backend does, every backend does: the same key maps to the same object name,
misses are None, failed writes leave the previous object.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pandas
import pytest
from pandas.testing import assert_frame_equal
from pydantic import BaseModel
from starlette.datastructures import Headers, UploadFile

from tausestack.sdk.settings import S3StorageSettings, StorageSettings
from tausestack.sdk.storage import (
    InvalidKeyError,
    LocalStorage,
    Storage,
    StorageError,
    StorageSerializationError,
    tenant,
)
from tausestack.sdk.storage._signed_urls import UrlSigner
from tausestack.sdk.storage.s3 import S3Storage
from tests.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY

MiB = 1024 * 1024

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("moto", id="moto-s3", marks=pytest.mark.s3),
    pytest.param("seaweedfs", id="seaweedfs-s3", marks=pytest.mark.s3),
]

#: Small chunks and the smallest multipart size S3 allows, so tests cross both boundaries.
SETTINGS = StorageSettings(chunk_size=64 * 1024)


def s3_settings(endpoint: str, bucket: str, prefix: str = "") -> S3StorageSettings:
    return S3StorageSettings(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint,
        region=S3_REGION,
        access_key_id=S3_ACCESS_KEY,
        secret_access_key=S3_SECRET_KEY,
        addressing_style="path",
        multipart_threshold=5 * MiB,
        multipart_chunksize=5 * MiB,
    )


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        signer = UrlSigner(b"k" * 32, "/_storage")
        backend: Any = LocalStorage(
            tmp_path / "objects", chunk_size=SETTINGS.chunk_size, signer=signer
        )
    else:
        server = request.getfixturevalue(
            f"{'moto' if request.param == 'moto' else 'seaweed'}_server"
        )
        bucket = request.getfixturevalue(
            f"{'moto' if request.param == 'moto' else 'seaweed'}_bucket"
        )
        backend = S3Storage(
            s3_settings(server.endpoint_url, bucket), chunk_size=SETTINGS.chunk_size
        )
    storage = Storage.over(backend, SETTINGS)
    asyncio.run(storage.start())
    yield storage
    asyncio.run(storage.stop())


def raw_object(storage: Storage, name: str) -> bytes:
    """The bytes stored under ``name``, read around the backend (file or S3 object)."""
    backend = storage.backend
    if isinstance(backend, LocalStorage):
        return (backend.root / name).read_bytes()
    assert isinstance(backend, S3Storage)
    response = backend.client.get_object(Bucket=backend.bucket, Key=backend.prefix + name)
    body: bytes = response["Body"].read()
    return body


class Report(BaseModel):
    title: str
    created: datetime
    pages: int


def frame(rows: int = 1000) -> pandas.DataFrame:
    return pandas.DataFrame(
        {
            "id": range(rows),
            "region": [f"region-{i % 7}" for i in range(rows)],
            "total": [i * 1.5 for i in range(rows)],
        }
    )


# -- JSON -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [{"a": 1, "b": [1, 2.5, "x", None, True]}, [1, 2, 3], "text", 42, 1.25, False],
    ids=["dict", "list", "str", "int", "float", "bool"],
)
def test_json_values_round_trip(storage: Storage, value: Any) -> None:
    storage.json.put("values/item.json", value)
    assert storage.json.get("values/item.json") == value


def test_json_pydantic_models_round_trip_with_type(storage: Storage) -> None:
    report = Report(title="Q1", created=datetime(2026, 1, 2, 3, 4, tzinfo=UTC), pages=3)
    storage.json.put("reports/q1", report)
    assert storage.json.get("reports/q1", type=Report) == report
    assert storage.json.get("reports/q1") == {
        "title": "Q1",
        "created": "2026-01-02T03:04:00Z",
        "pages": 3,
    }
    assert storage.json.get("reports/missing", type=Report) is None


def test_json_is_stored_under_exactly_its_key(storage: Storage) -> None:
    storage.json.put("exact/name.v1", {"v": 1})
    assert raw_object(storage, "exact/name.v1") == b'{"v":1}'
    assert storage.json.list("exact/") == ["exact/name.v1"]


def test_keys_differing_only_after_a_dot_stay_distinct(storage: Storage) -> None:
    storage.json.put("report.v1", {"version": 1})
    storage.json.put("report.v2", {"version": 2})
    storage.binary.put("a.v1", b"one")
    storage.binary.put("a.v2", b"two")
    assert storage.json.get("report.v1") == {"version": 1}
    assert storage.json.get("report.v2") == {"version": 2}
    assert storage.binary.get("a.v1") == b"one"
    assert storage.binary.get("a.v2") == b"two"
    assert storage.json.list() == ["a.v1", "a.v2", "report.v1", "report.v2"]


def test_misses_are_none_and_deleting_a_missing_key_is_quiet(storage: Storage) -> None:
    assert storage.json.get("nothing") is None
    assert storage.binary.get("nothing") is None
    assert storage.binary.stream("nothing") is None
    assert storage.binary.info("nothing") is None
    assert storage.dataframe.get("nothing") is None
    assert not storage.json.exists("nothing")
    storage.json.delete("nothing")
    storage.binary.delete("deep/er/nothing")


def test_put_replaces_and_delete_removes(storage: Storage) -> None:
    storage.json.put("doc", {"n": 1})
    storage.json.put("doc", {"n": 2})
    assert storage.json.get("doc") == {"n": 2}
    assert storage.json.exists("doc")
    storage.json.delete("doc")
    assert not storage.json.exists("doc")
    assert storage.json.get("doc") is None
    assert storage.json.list() == []


def test_list_filters_by_prefix_and_sorts(storage: Storage) -> None:
    for key in ["reports/2026/b", "reports/2026/a", "reports/2025/z", "rep.json", "other/x"]:
        storage.json.put(key, key)
    assert storage.json.list("reports/") == ["reports/2025/z", "reports/2026/a", "reports/2026/b"]
    assert storage.json.list("rep") == [
        "rep.json",
        "reports/2025/z",
        "reports/2026/a",
        "reports/2026/b",
    ]
    assert storage.json.list("reports/2026/a") == ["reports/2026/a"]
    assert storage.json.list("missing/") == []
    assert len(storage.json.list()) == 5
    storage.json.delete("reports/2025/z")
    assert storage.json.list("reports/2025") == []


def test_unserializable_json_raises_and_keeps_the_previous_value(storage: Storage) -> None:
    storage.json.put("settings", {"theme": "dark"})
    with pytest.raises(StorageSerializationError, match=r"'settings'.*Nothing was written"):
        storage.json.put("settings", {"theme": object()})
    with pytest.raises(StorageSerializationError, match=r"storage\.dataframe\.put"):
        storage.json.put("settings", frame(3))
    assert storage.json.get("settings") == {"theme": "dark"}


def test_reading_with_the_wrong_kind_is_a_clear_error(storage: Storage) -> None:
    storage.dataframe.put("table", frame(10))
    storage.json.put("doc", {"a": 1})
    with pytest.raises(StorageSerializationError, match=r"'table'.*Parquet.*dataframe\.get"):
        storage.json.get("table")
    with pytest.raises(StorageSerializationError, match=r"'doc'.*not a Parquet file.*json\.get"):
        storage.dataframe.get("doc")
    storage.binary.put("blob", b"\x00\x01")
    with pytest.raises(StorageSerializationError, match=r"not a Parquet file.*binary\.get"):
        storage.dataframe.get("blob")


# -- binary ---------------------------------------------------------------------------------


def keeps_content_types(storage: Storage, tmp_path: Path) -> bool:
    """S3 keeps them; the local backend where the filesystem has extended attributes."""
    if not isinstance(storage.backend, LocalStorage):
        return True
    probe = tmp_path / "xattr-probe"
    probe.touch()
    try:
        os.setxattr(probe, "user.probe", b"1")
    except OSError:
        return False
    return True


def test_binary_bytes_with_content_type(storage: Storage, tmp_path: Path) -> None:
    storage.binary.put("images/logo.bin", b"\x89PNG data", content_type="image/png")
    assert storage.binary.get("images/logo.bin") == b"\x89PNG data"
    info = storage.binary.info("images/logo.bin")
    assert info is not None
    assert (info.key, info.size) == ("images/logo.bin", 9)
    expected = "image/png" if keeps_content_types(storage, tmp_path) else "application/octet-stream"
    assert info.content_type == expected
    assert info.modified is not None


def test_content_type_defaults_to_the_extension_alike_everywhere(storage: Storage) -> None:
    storage.binary.put("exports/data.csv", b"a,b\n")
    storage.binary.put("exports/no-extension", b"?")
    types = [storage.binary.info(key) for key in ("exports/data.csv", "exports/no-extension")]
    assert [info.content_type if info else None for info in types] == [
        "text/csv",
        "application/octet-stream",
    ]


def test_binary_streams_in_and_out_in_chunks(storage: Storage) -> None:
    payload = bytes(range(256)) * (4 * 1024)  # 1 MiB, 16 chunks of 64 KiB
    storage.binary.put("blobs/file.bin", io.BytesIO(payload))
    chunks = storage.binary.stream("blobs/file.bin")
    assert chunks is not None
    received = list(chunks)
    assert b"".join(received) == payload
    assert max(len(chunk) for chunk in received) <= SETTINGS.chunk_size
    assert len(received) >= 2


def test_binary_from_an_iterable_of_chunks(storage: Storage) -> None:
    storage.binary.put("blobs/joined", (part for part in [b"ab", b"", b"cd", bytearray(b"ef")]))
    assert storage.binary.get("blobs/joined") == b"abcdef"


def test_many_small_chunks_past_the_multipart_threshold(storage: Storage) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB; 200 of them: 12.5 MiB in three parts on S3
    storage.binary.put("big/chunked", (chunk for _ in range(200)))
    assert storage.binary.get("big/chunked") == chunk * 200
    info = storage.binary.info("big/chunked")
    assert info is not None
    if isinstance(storage.backend, S3Storage):
        assert info.etag is not None
        assert info.etag.endswith("-3"), "the chunks were gathered into 5 MiB parts"


def test_an_upload_file_is_stored_whole(storage: Storage) -> None:
    upload = UploadFile(
        io.BytesIO(b"<html>hi</html>"),
        filename="page.html",
        headers=Headers({"content-type": "text/html"}),
    )
    upload.file.read(3)  # an endpoint had a look at it first
    storage.binary.put("uploads/page", upload)
    assert storage.binary.get("uploads/page") == b"<html>hi</html>"


def test_binary_large_object_goes_up_in_parts(storage: Storage) -> None:
    payload = b"0123456789abcdef" * (12 * MiB // 16)  # 12 MiB: three 5 MiB parts on S3
    storage.binary.put("big/object", io.BytesIO(payload), content_type="application/zip")
    assert storage.binary.get("big/object") == payload
    info = storage.binary.info("big/object")
    assert info is not None
    assert info.size == len(payload)
    if isinstance(storage.backend, S3Storage):
        assert info.etag is not None
        assert info.etag.endswith("-3"), "a multipart upload's ETag ends with -<parts>"


def test_a_stream_that_fails_half_way_keeps_the_previous_object(storage: Storage) -> None:
    storage.binary.put("blobs/kept", b"previous")

    def failing() -> Iterator[bytes]:
        yield b"x" * (6 * MiB)  # past the multipart threshold: S3 has started a multipart upload
        raise RuntimeError("the producer crashed")

    with pytest.raises(RuntimeError, match="crashed"):
        storage.binary.put("blobs/kept", failing())
    with pytest.raises(RuntimeError, match="crashed"):
        storage.binary.put("blobs/new", failing())
    with pytest.raises(RuntimeError, match="crashed"):
        storage.binary.put("fresh/folder/new", failing())
    assert storage.binary.get("blobs/kept") == b"previous"
    assert not storage.binary.exists("blobs/new")
    assert storage.binary.list() == ["blobs/kept"]
    if isinstance(storage.backend, LocalStorage):
        assert not (storage.backend.root / "fresh").exists(), "no empty folder is left behind"
        leftovers = [path for path in storage.backend.root.rglob("*") if ".~tmp-" in path.name]
        assert leftovers == [], "no temporary file is left behind"


def test_binary_rejects_text_and_non_bytes_chunks(storage: Storage) -> None:
    with pytest.raises(StorageSerializationError, match=r"encode the str"):
        storage.binary.put("text", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(StorageSerializationError, match=r"'chunks'.*not bytes"):
        storage.binary.put("chunks", iter([b"ok", 12]))  # type: ignore[list-item]
    assert storage.binary.list() == []


def test_binary_url_downloads(storage: Storage) -> None:
    storage.binary.put("public/report 1.pdf", b"%PDF-1.7", content_type="application/pdf")
    url = storage.binary.url("public/report 1.pdf", expires=timedelta(minutes=1))
    if isinstance(storage.backend, LocalStorage):
        # The application serves these (tests/sdk/storage/test_storage_app.py); here: the path.
        path, _, query = url.partition("?")
        assert path == "/_storage/public/report%201.pdf"
        parameters = dict(part.split("=") for part in query.split("&"))
        signer = UrlSigner(b"k" * 32, "/_storage")
        assert signer.check("public/report 1.pdf", parameters["expires"], parameters["signature"])
        assert not signer.check("public/other.pdf", parameters["expires"], parameters["signature"])
    else:
        response = httpx2.get(url)
        assert response.status_code == 200
        assert response.content == b"%PDF-1.7"
    with pytest.raises(StorageError, match="between 1 and 604800"):
        storage.binary.url("public/report 1.pdf", expires=0)


# -- DataFrames -----------------------------------------------------------------------------


def test_dataframes_round_trip(storage: Storage) -> None:
    original = frame()
    storage.dataframe.put("sales/2026", original)
    assert_frame_equal(storage.dataframe.get("sales/2026"), original)
    only = storage.dataframe.get("sales/2026", columns=["region"])
    assert only is not None
    assert list(only.columns) == ["region"]
    assert raw_object(storage, "sales/2026")[:4] == b"PAR1"


def test_dataframe_compression_is_applied(storage: Storage) -> None:
    original = frame(5000)
    storage.dataframe.put("sales/zstd", original, compression="zstd")
    storage.dataframe.put("sales/plain", original, compression="none")
    assert_frame_equal(storage.dataframe.get("sales/zstd"), original)
    assert len(raw_object(storage, "sales/zstd")) < len(raw_object(storage, "sales/plain"))
    with pytest.raises(StorageSerializationError, match=r"Unknown Parquet compression 'rar'"):
        storage.dataframe.put("sales/rar", original, compression="rar")


def test_a_dataframe_that_fails_to_serialize_keeps_the_previous_one(storage: Storage) -> None:
    original = frame(10)
    storage.dataframe.put("sales/kept", original)
    broken = pandas.DataFrame({"mixed": [1, "two", object()]})
    with pytest.raises(StorageSerializationError, match=r"'sales/kept'.*pyarrow cannot convert"):
        storage.dataframe.put("sales/kept", broken)
    with pytest.raises(StorageSerializationError, match=r"pandas DataFrames"):
        storage.dataframe.put("sales/kept", {"not": "a frame"})  # type: ignore[arg-type]
    assert_frame_equal(storage.dataframe.get("sales/kept"), original)
    assert storage.dataframe.list("sales/") == ["sales/kept"]


# -- keys, tenants --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "absolute"),
        ("../outside", "'..'"),
        ("a/../../b", "'..'"),
        ("a/./b", "'.'"),
        ("a//b", "empty segment"),
        ("folder/", "ends with '/'"),
        ("a\\b", "'\\\\'"),
        ("line\nbreak", "control character"),
        ("nul\x00", "control character"),
        ("x" * 1025, "longer than 1024 bytes"),
        ("a/.~tmp-123", "reserved"),
        ("a/" + "b" * 256, "longer than 255 bytes"),
        ("c1\x85control", "control character"),
        ("bidi\u202eoverride", "control character"),
        ("surrogate\ud800", "not valid Unicode"),
    ],
)
def test_invalid_keys_are_rejected_on_every_backend(
    storage: Storage, key: str, reason: str
) -> None:
    for write in (
        lambda: storage.json.put(key, 1),
        lambda: storage.binary.put(key, b"1"),
        lambda: storage.binary.get(key),
        lambda: storage.dataframe.put(key, frame(1)),
    ):
        with pytest.raises(InvalidKeyError, match=reason):
            write()
    with pytest.raises(InvalidKeyError, match="must be a str"):
        storage.json.get(12)  # type: ignore[arg-type]
    assert storage.json.list() == []


def test_tenants_have_their_own_namespace(storage: Storage) -> None:
    with tenant("acme"):
        storage.json.put("settings", {"tenant": "acme"})
        assert storage.json.list() == ["settings"]
    with tenant("globex"):
        assert storage.json.get("settings") is None
        storage.json.put("settings", {"tenant": "globex"})
    assert storage.json.get("settings") is None
    assert storage.json.get("tenants/acme/settings") == {"tenant": "acme"}
    assert storage.json.list() == ["tenants/acme/settings", "tenants/globex/settings"]
    with pytest.raises(InvalidKeyError, match="Tenant '../x'"), tenant("../x"):
        pass
    long_key = "/".join(["k" * 250] * 4) + "/" + "k" * 8  # 1012 bytes: fits, not under a tenant
    storage.json.put(long_key, 1)
    with tenant("acme"), pytest.raises(InvalidKeyError, match="under tenant 'acme'"):
        storage.json.put(long_key, 1)


def test_folders_starting_with_a_dot_are_listed(storage: Storage) -> None:
    for key in (".config/a", "d/.hidden/b", ".env"):
        storage.binary.put(key, b"1")
    assert storage.binary.list() == [".config/a", ".env", "d/.hidden/b"]


# -- async ----------------------------------------------------------------------------------


async def _async_roundtrip(storage: Storage) -> None:
    async def big() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"z" * 64 * 1024
            await asyncio.sleep(0)

    await storage.binary.aput("async/big", big())
    assert await storage.binary.aget("async/big") == b"z" * 200 * 64 * 1024
    info = await storage.binary.ainfo("async/big")
    assert info is not None
    if isinstance(storage.backend, S3Storage):
        assert info.etag is not None
        assert info.etag.endswith("-3"), "streamed through in parts, not one buffered PUT"
    await storage.binary.adelete("async/big")

    await storage.json.aput("async/doc", {"a": 1})
    assert await storage.json.aget("async/doc") == {"a": 1}
    assert await storage.json.aexists("async/doc")

    async def chunks() -> AsyncIterator[bytes]:
        for index in range(40):
            yield bytes([index]) * 10_000

    await storage.binary.aput("async/blob", chunks(), content_type="application/octet-stream")
    stream = await storage.binary.astream("async/blob")
    assert stream is not None
    received = b"".join([chunk async for chunk in stream])
    assert received == b"".join(bytes([index]) * 10_000 for index in range(40))
    assert await storage.binary.astream("async/missing") is None
    info = await storage.binary.ainfo("async/blob")
    assert info is not None
    assert info.size == 400_000
    await storage.dataframe.aput("async/frame", frame(100))
    assert_frame_equal(await storage.dataframe.aget("async/frame"), frame(100))
    assert await storage.json.alist("async/") == ["async/blob", "async/doc", "async/frame"]
    await storage.json.adelete("async/doc")
    assert await storage.json.aget("async/doc") is None


def test_async_twins(storage: Storage) -> None:
    asyncio.run(_async_roundtrip(storage))


def test_hundred_concurrent_puts_and_gets_of_distinct_keys_lose_nothing(storage: Storage) -> None:
    async def scenario() -> None:
        keys = [f"concurrent/{index:03d}" for index in range(100)]
        await asyncio.gather(
            *(storage.json.aput(key, {"key": key, "n": n}) for n, key in enumerate(keys))
        )
        values = await asyncio.gather(*(storage.json.aget(key) for key in keys))
        assert values == [{"key": key, "n": n} for n, key in enumerate(keys)]
        assert await storage.json.alist("concurrent/") == keys

    asyncio.run(scenario())


def test_a_dataframe_read_during_replacements_is_one_version_or_the_other(
    storage: Storage,
) -> None:
    first, second = frame(20_000), frame(20_000).assign(total=-1.0)
    storage.dataframe.put("race/frame", first)
    stop = threading.Event()

    def replace() -> None:
        while not stop.is_set():
            storage.dataframe.put("race/frame", second)
            storage.dataframe.put("race/frame", first)

    writer = threading.Thread(target=replace)
    writer.start()
    try:
        for _ in range(40 if isinstance(storage.backend, LocalStorage) else 10):
            read = storage.dataframe.get("race/frame")
            assert read is not None
            assert read["total"].iloc[1] in (first["total"].iloc[1], -1.0)
            assert_frame_equal(read, first if read["total"].iloc[1] != -1.0 else second)
    finally:
        stop.set()
        writer.join()


def test_an_abandoned_async_stream_releases_its_object(storage: Storage) -> None:
    storage.binary.put("streams/file", b"x" * (SETTINGS.chunk_size * 4))
    target = str(getattr(storage.backend, "root", "")) + "/streams/file"

    async def scenario() -> None:
        chunks = await storage.binary.astream("streams/file")
        assert chunks is not None
        assert len(await anext(chunks)) == SETTINGS.chunk_size
        if isinstance(storage.backend, LocalStorage):
            assert target in open_files()
        # What a server does when the client goes away: close the stream inside a
        # cancelled scope. The object must be released then, not whenever GC runs.
        with anyio.CancelScope() as scope:
            scope.cancel()
            await chunks.aclose()
        if isinstance(storage.backend, LocalStorage):
            assert target not in open_files()
        # A stream never iterated at all is released when dropped.
        unread = storage.binary.stream("streams/file")
        assert unread is not None
        del unread
        if isinstance(storage.backend, LocalStorage):
            assert target not in open_files()

    asyncio.run(scenario())


def open_files() -> list[str]:
    """What this process has open (Linux), for leak checks."""
    paths = []
    for descriptor in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor is gone already
            paths.append(os.readlink(f"/proc/self/fd/{descriptor}"))
    return paths


def test_concurrent_puts_and_deletes_in_one_folder(storage: Storage) -> None:
    """Deletes prune emptied folders; puts into the same folder at the same time still land."""

    async def scenario() -> None:
        async def churn(index: int) -> None:
            for round_number in range(5):
                key = f"shared/folder/{index}-{round_number}"
                await storage.binary.aput(key, b"x")
                await storage.binary.adelete(key)
            await storage.binary.aput(f"shared/folder/{index}", b"kept")

        await asyncio.gather(*(churn(index) for index in range(20)))
        assert await storage.binary.alist("shared/") == sorted(
            (f"shared/folder/{index}" for index in range(20)), key=str.encode
        )

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (float("nan"), "the value"),
        ({"scores": [1.0, float("inf")], "note": None}, "['scores'][1]"),
        ([{"ratio": float("-inf")}], "[0]['ratio']"),
    ],
)
def test_json_refuses_nan_and_infinities_instead_of_writing_null(
    storage: Storage, value: object, where: str
) -> None:
    """orjson writes NaN and ±inf as null, which would be read back as None."""
    storage.json.put("stats", {"ratio": 0.5})
    with pytest.raises(StorageSerializationError) as caught:
        storage.json.put("stats", value)
    message = str(caught.value)
    assert "'stats'" in message
    assert where in message
    assert "Nothing was written" in message
    assert storage.json.get("stats") == {"ratio": 0.5}
    storage.json.put("stats", {"ratio": None, "values": [None, 2.5]})  # a real null is fine
    assert storage.json.get("stats") == {"ratio": None, "values": [None, 2.5]}
