"""Storage in an application: settings choose the backend, DI and module functions, startup checks,
the original SDK's variables, signed local URLs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tausestack import Controller, Service, Settings, create_app, get
from tausestack.cli import cli
from tausestack.sdk import storage as storage_module
from tausestack.sdk import use
from tausestack.sdk.storage import (
    AbstractStorageBackend,
    InvalidKeyError,
    LocalStorage,
    Storage,
    StorageBackendError,
    StorageConfigurationError,
)
from tausestack.sdk.storage._signed_urls import UrlSigner
from tausestack.sdk.storage.s3 import S3Storage
from tausestack.testing import AsyncTestClient, TestClient, create_test_app
from tests.processes import free_port
from tests.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, MotoServer

SIGNING_KEY = "k" * 40


@Service
class Archive:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def save(self, key: str, value: Any) -> None:
        self.storage.json.put(key, value)


@Controller("/files")
class Files:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    @get("/link/{key:path}")
    def link(self, key: str, content_type: str = "text/plain") -> dict[str, str]:
        self.storage.binary.put(key, b"hello world", content_type=content_type)
        return {"url": self.storage.binary.url(key, expires=60)}


def s3_options(server: MotoServer, bucket: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": "s3",
        "s3": {
            "bucket": bucket,
            "endpoint_url": server.endpoint_url,
            "region": S3_REGION,
            "access_key_id": S3_ACCESS_KEY,
            "secret_access_key": S3_SECRET_KEY,
            "addressing_style": "path",
            **extra,
        },
    }


def test_local_is_the_default_under_the_project(tmp_path: Path) -> None:
    app = create_app(Settings(config_dir=tmp_path), components=[Archive])
    with TestClient(app):
        app.container.get(Archive).save("notes/1", {"n": 1})
        backend = app.container.get(AbstractStorageBackend)
        assert isinstance(backend, LocalStorage)
        assert backend is app.container.get(Storage).backend
    assert json.loads((tmp_path / ".tausestack_storage/notes/1").read_text()) == {"n": 1}


def test_s3_backend_chosen_by_settings(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    settings = Settings(config_dir=tmp_path, storage=s3_options(moto_server, moto_bucket))
    app = create_app(settings, components=[Archive])
    with TestClient(app):
        app.container.get(Archive).save("notes/0", {"n": 0})
    with TestClient(app):  # started again after a stop: the client still works
        app.container.get(Archive).save("notes/1", {"n": 1})
    stored = moto_server.client().get_object(Bucket=moto_bucket, Key="notes/1")  # type: ignore[attr-defined]
    assert json.loads(stored["Body"].read()) == {"n": 1}


def test_the_original_sdk_variables_keep_working(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("TAUSESTACK_S3_BUCKET_NAME", moto_bucket)
    monkeypatch.setenv("TAUSESTACK_STORAGE__S3__ENDPOINT_URL", moto_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", S3_REGION)
    settings = Settings(config_dir=tmp_path)
    assert settings.source_of("storage", "s3", "bucket") == (
        "TAUSESTACK_S3_BUCKET_NAME (a variable of the original SDK)"
    )
    app = create_app(settings, components=[Archive])
    with TestClient(app):
        backend = app.container.get(Storage).backend
        assert isinstance(backend, S3Storage)
        assert backend.bucket == moto_bucket
        app.container.get(Archive).save("legacy", [1, 2])
        assert app.container.get(Storage).json.get("legacy") == [1, 2]


def test_the_original_local_path_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAUSESTACK_LOCAL_STORAGE_PATH", str(tmp_path / "legacy"))
    app = create_app(Settings(config_dir=tmp_path), components=[Archive])
    with TestClient(app):
        app.container.get(Archive).save("a", 1)
    assert (tmp_path / "legacy/a").read_text() == "1"


def test_new_variable_names_win_over_the_original_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("TAUSESTACK_STORAGE__BACKEND", "local")
    assert Settings(config_dir=tmp_path).storage.backend == "local"


def test_unknown_backend_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, storage={"backend": "s4"})
    with pytest.raises(StorageConfigurationError, match=r"Unknown storage.backend 's4'.*'s3'"):
        create_app(settings, components=[Archive])


def test_s3_without_a_bucket_fails_at_create_app(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, storage={"backend": "s3"})
    with pytest.raises(StorageConfigurationError, match=r"no bucket is set.*storage\.s3\.bucket"):
        create_app(settings, components=[Archive])


def test_a_missing_bucket_fails_at_startup(tmp_path: Path, moto_server: MotoServer) -> None:
    settings = Settings(config_dir=tmp_path, storage=s3_options(moto_server, "no-such-bucket"))
    app = create_app(settings, components=[Archive])
    with (
        pytest.raises(StorageConfigurationError, match=r"'no-such-bucket'.*create it"),
        TestClient(app),
    ):
        pass
    unchecked = Settings(
        config_dir=tmp_path,
        storage={**s3_options(moto_server, "no-such-bucket"), "check_on_startup": False},
    )
    with TestClient(create_app(unchecked, components=[Archive])):
        pass


def test_a_bucket_that_disappears_is_an_error_not_a_miss(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    settings = Settings(config_dir=tmp_path, storage=s3_options(moto_server, moto_bucket))
    app = create_app(settings, components=[Archive])
    with TestClient(app):
        storage = app.container.get(Storage)
        assert not storage.binary.exists("x")
        moto_server.client().delete_bucket(Bucket=moto_bucket)  # type: ignore[attr-defined]
        for read in (
            lambda: storage.binary.exists("x"),
            lambda: storage.binary.info("x"),
            lambda: storage.json.get("x"),
            lambda: storage.dataframe.get("x"),
            lambda: storage.binary.stream("x"),
            lambda: storage.json.delete("x"),
        ):
            with pytest.raises(StorageBackendError, match=rf"'x' on s3 bucket '{moto_bucket}'"):
                read()


def test_the_s3_prefix_counts_towards_the_length_limit(
    tmp_path: Path, moto_server: MotoServer, moto_bucket: str
) -> None:
    options = s3_options(moto_server, moto_bucket, prefix="some/app/prefix/")
    app = create_app(Settings(config_dir=tmp_path, storage=options), components=[Archive])
    with TestClient(app):
        storage = app.container.get(Storage)
        key = "/".join(["k" * 250] * 4) + "/" + "k" * 19  # 1023 bytes
        with pytest.raises(InvalidKeyError, match="with the prefix 'some/app/prefix/'"):
            storage.json.put(key, 1)
        storage.json.put("short", 1)
        assert storage.json.list() == ["short"]


def test_an_unreachable_endpoint_fails_at_startup(tmp_path: Path) -> None:
    options: dict[str, Any] = {
        "backend": "s3",
        "s3": {
            "bucket": "b",
            "endpoint_url": f"http://127.0.0.1:{free_port()}",
            "region": S3_REGION,
            "access_key_id": "x",
            "secret_access_key": "y",
            "max_attempts": 1,
            "connect_timeout": 1,
        },
    }
    app = create_app(Settings(config_dir=tmp_path, storage=options), components=[Archive])
    with (
        pytest.raises(StorageConfigurationError, match=r"Cannot reach s3 bucket 'b' at http"),
        TestClient(app),
    ):
        pass


class MemoryBackend(LocalStorage):
    """A third-party backend, named by its dotted path."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings.config_dir / "custom")


def test_a_backend_by_dotted_path(tmp_path: Path) -> None:
    path = f"{__name__}:MemoryBackend"
    app = create_app(Settings(config_dir=tmp_path, storage={"backend": path}), components=[Archive])
    with TestClient(app):
        app.container.get(Archive).save("x", 1)
    assert (tmp_path / "custom/x").read_text() == "1"
    wrong = Settings(config_dir=tmp_path, storage={"backend": f"{__name__}:Archive"})
    with pytest.raises(StorageConfigurationError, match="not a subclass of AbstractStorage"):
        create_app(wrong, components=[Archive])
    missing = Settings(config_dir=tmp_path, storage={"backend": "nowhere.module:Backend"})
    with pytest.raises(StorageConfigurationError, match="cannot be imported"):
        create_app(missing, components=[Archive])


def test_module_functions_use_the_current_app(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = create_app(Settings(config_dir=tmp_path / "one"), components=[Archive])
    second = create_app(Settings(config_dir=tmp_path / "two"))  # nothing asked for storage
    with use(first.container):
        storage_module.json.put("where", "first")
    with use(second.container):
        storage_module.json.put("where", "second")
        assert storage_module.json.get("where") == "second"
        assert storage_module.current() is storage_module.current()
    assert (tmp_path / "one/.tausestack_storage/where").read_text() == '"first"'
    assert (tmp_path / "two/.tausestack_storage/where").read_text() == '"second"'


# -- signed local URLs ----------------------------------------------------------------------


def url_app(tmp_path: Path, **storage: Any) -> Any:
    settings = Settings(config_dir=tmp_path, storage={"url_signing_key": SIGNING_KEY, **storage})
    return create_app(settings, components=[Files])


def test_local_urls_are_served_by_the_app(tmp_path: Path) -> None:
    with TestClient(url_app(tmp_path)) as client:
        url = client.get("/files/link/docs/hello world.txt").json()["url"]
        assert url.startswith("/_storage/docs/hello%20world.txt?expires=")
        response = client.get(url)
        assert response.status_code == 200
        assert response.content == b"hello world"
        assert response.headers["content-type"].startswith("text/plain")
        tampered = url.replace("signature=", "signature=0")
        assert client.get(tampered).status_code == 403
        other = url.replace("hello%20world.txt", "other.txt")
        assert client.get(other).status_code == 403
        assert client.get("/_storage/docs/hello%20world.txt").status_code == 403
        assert "/_storage" not in json.dumps(client.get("/openapi.json").json())


def test_expired_and_deleted_objects_are_refused(tmp_path: Path) -> None:
    signer = UrlSigner(SIGNING_KEY.encode(), "/_storage")
    past = int(time.time()) - 1
    with TestClient(url_app(tmp_path)) as client:
        client.get("/files/link/a.txt")
        expired = f"/_storage/a.txt?expires={past}&signature={signer.signature('a.txt', past)}"
        assert client.get(expired).status_code == 403
        valid = signer.url("gone.txt", 60)
        assert client.get(valid).status_code == 404


def test_url_path_is_configurable(tmp_path: Path) -> None:
    with TestClient(url_app(tmp_path, url_path="/media")) as client:
        url = client.get("/files/link/a.txt").json()["url"]
        assert url.startswith("/media/a.txt?")
        assert client.get(url).content == b"hello world"
    for wrong in ("media", "/"):
        with pytest.raises(StorageConfigurationError, match="must be a path below '/'"):
            url_app(tmp_path, url_path=wrong)


@pytest.mark.filterwarnings("ignore:The `root_path` parameter is deprecated")
def test_urls_include_the_root_path(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        storage={"url_signing_key": SIGNING_KEY},
        app={"root_path": "/api"},
    )
    with TestClient(create_app(settings, components=[Files])) as client:
        url = client.get("/files/link/a.txt").json()["url"]
        assert url.startswith("/api/_storage/a.txt?")
        assert client.get(url.removeprefix("/api")).content == b"hello world"


@pytest.mark.parametrize(
    "query",
    [
        "expires=%C2%B2&signature=" + "0" * 64,  # a digit Python's isdigit() accepts
        "expires=" + "9" * 5000 + "&signature=" + "0" * 64,
        "expires=9999999999&signature=%C3%A9",
        "expires=9999999999&signature=" + "Z" * 64,
        "expires=&signature=",
    ],
    ids=["superscript-two", "huge-expiry", "non-ascii-signature", "non-hex-signature", "empty"],
)
def test_malformed_signed_urls_are_403_not_500(tmp_path: Path, query: str) -> None:
    with TestClient(url_app(tmp_path)) as client:
        client.get("/files/link/a.txt")
        assert client.get(f"/_storage/a.txt?{query}").status_code == 403


def test_stored_html_is_downloaded_not_rendered(tmp_path: Path) -> None:
    with TestClient(url_app(tmp_path)) as client:
        url = client.get("/files/link/page.html", params={"content_type": "text/html"}).json()
        response = client.get(url["url"])
        assert response.status_code == 200
        assert response.headers["content-disposition"] == "attachment; filename*=UTF-8''page.html"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "sandbox"
        image = client.get("/files/link/logo.png", params={"content_type": "image/png"}).json()
        shown = client.get(image["url"])
        assert shown.headers["content-disposition"].startswith("inline;")
        assert shown.headers["content-type"] == "image/png"
        head = client.head(image["url"])
        assert head.status_code == 200
        assert head.headers["content-length"] == "11"
        assert head.content == b""


def test_an_invalid_key_from_a_request_is_a_400(tmp_path: Path) -> None:
    with TestClient(url_app(tmp_path)) as client:
        response = client.get("/files/link/a%5Cb")  # a backslash
        assert response.status_code == 400
        assert "separate folders with '/'" in response.json()["detail"]


def test_the_test_profile_signs_urls_with_a_random_key(tmp_path: Path) -> None:
    app = create_test_app(config_dir=tmp_path, components=[Files])
    with TestClient(app) as client:
        url = client.get("/files/link/a.txt").json()["url"]
        assert client.get(url).content == b"hello world"
    second = create_test_app(config_dir=tmp_path, components=[Files])
    assert second.container.get(Storage).binary.url("a.txt").startswith("/_storage/a.txt?")


@pytest.mark.anyio
async def test_aurl_works_in_the_test_profile(tmp_path: Path) -> None:
    app = create_test_app(config_dir=tmp_path, components=[Archive])
    async with AsyncTestClient(app):
        url = await app.container.get(Storage).binary.aurl("reports/a.pdf", expires=60)
    assert url.startswith("/_storage/reports/a.pdf?expires=")


@pytest.mark.parametrize("profile", ["prod", "staging"])
def test_outside_dev_and_test_a_missing_signing_key_fails_at_create_app(
    tmp_path: Path, profile: str
) -> None:
    (tmp_path / f"application-{profile}.yaml").write_text("")  # a profile of the project's
    settings = Settings(config_dir=tmp_path, profile=profile)
    with pytest.raises(StorageConfigurationError) as caught:
        create_app(settings, components=[Archive])
    message = str(caught.value)
    assert "storage.url_signing_key is not set" in message
    assert f"profile {profile!r}" in message
    assert "TAUSESTACK_STORAGE__URL_SIGNING_KEY" in message
    assert "${secret:" in message


def test_the_missing_key_is_reported_by_check(
    project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("application.yaml", "installed_apps: [archive]\n")
    project.write("main.py", "from tausestack import create_app\n\napp = create_app()\n")
    project.write(
        "archive/services.py",
        """
        from tausestack import Service
        from tausestack.sdk.storage import Storage

        @Service
        class Archive:
            def __init__(self, storage: Storage) -> None:
                self.storage = storage
        """,
    )
    monkeypatch.setenv("TAUSESTACK_PROFILE", "prod")
    refused = CliRunner().invoke(cli, ["check"])
    assert refused.exit_code != 0
    assert "storage.url_signing_key is not set" in refused.output
    monkeypatch.setenv("TAUSESTACK_STORAGE__URL_SIGNING_KEY", SIGNING_KEY)
    accepted = CliRunner().invoke(cli, ["check"])
    assert accepted.exit_code == 0, accepted.output
    assert "No problems found" in accepted.output
    assert SIGNING_KEY not in accepted.output


def test_backends_that_sign_nothing_need_no_key(tmp_path: Path) -> None:
    s3 = {"backend": "s3", "s3": {"bucket": "b", "region": S3_REGION}}
    create_app(Settings(config_dir=tmp_path, profile="prod", storage=s3), components=[Archive])
    custom = {"backend": f"{__name__}:MemoryBackend"}
    settings = Settings(config_dir=tmp_path, profile="prod", storage=custom)
    create_app(settings, components=[Archive])


def test_a_short_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    short = Settings(config_dir=tmp_path, storage={"url_signing_key": "short-but-secret"})
    with pytest.raises(StorageConfigurationError, match="shorter than 32") as caught:
        create_app(short, components=[Archive])
    assert "short-but-secret" not in str(caught.value)
    assert "keyword argument" in str(caught.value)  # where the setting came from


def test_the_key_never_shows_in_reprs(tmp_path: Path) -> None:
    app = url_app(tmp_path)
    storage = app.container.get(Storage)
    shown = [repr(storage), repr(storage.backend), repr(app.settings), repr(app.settings.storage)]
    shown.append(repr(UrlSigner.from_settings(app.settings)))
    assert not [text for text in shown if SIGNING_KEY in text]


def test_an_app_module_using_storage_gets_it(project: Any) -> None:
    project.write("application.yaml", "installed_apps: [notes]\n")
    project.write(
        "notes/routes.py",
        """
        from fastapi import APIRouter
        from tausestack.sdk import storage

        router = APIRouter()

        @router.post("/notes/{key}")
        async def save(key: str, body: dict) -> dict:
            await storage.json.aput(f"notes/{key}", body)
            return {"keys": await storage.json.alist("notes/")}
        """,
    )
    app = create_app()
    with TestClient(app) as client:
        assert client.post("/notes/a", json={"x": 1}).json() == {"keys": ["notes/a"]}
        assert app.container.get(Storage).json.get("notes/a") == {"x": 1}


def test_local_storage_imports_neither_boto3_nor_pandas(tmp_path: Path) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from tausestack import Settings, create_app
        from tausestack.sdk import storage, use
        app = create_app(Settings(config_dir={str(tmp_path)!r}))
        with use(app.container):
            storage.json.put("k", [1])
            storage.binary.put("b", b"1")
            assert storage.json.get("k") == [1]
        print(sorted(m for m in ("boto3", "botocore", "pandas", "pyarrow") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_fsync_writes_work(tmp_path: Path) -> None:
    storage = Storage.over(LocalStorage(tmp_path / "durable", fsync=True))
    storage.json.put("a/b/c", {"x": 1})
    storage.binary.put("a/stream", iter([b"1", b"2"]))
    storage.dataframe.put("a/frame", __import__("pandas").DataFrame({"x": [1, 2]}))
    assert storage.json.get("a/b/c") == {"x": 1}
    assert storage.binary.get("a/stream") == b"12"
    assert storage.json.list("a/") == ["a/b/c", "a/frame", "a/stream"]


def test_star_import_does_not_need_boto3() -> None:
    script = "import sys; sys.modules['boto3'] = None; from tausestack.sdk.storage import *"
    subprocess.run([sys.executable, "-c", script], check=True)
