"""The secrets contract: the environment, a dotenv file and AWS Secrets Manager (moto's server).

Every backend holds the same secrets; every test runs against each. The AWS backend talks to
moto's server over HTTP (``tests/servers.py``), each test under its own name prefix.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from tausestack.sdk.secrets import (
    InvalidSecretNameError,
    SecretNotFoundError,
    Secrets,
    SecretsConfigurationError,
    SecretsError,
)
from tausestack.sdk.secrets.aws import AwsSecretsManager
from tausestack.sdk.secrets.dotenv import DotenvSecrets
from tausestack.sdk.secrets.env import EnvSecrets
from tausestack.sdk.settings import AwsSecretsSettings
from tests.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, MotoServer

SECRETS = {
    "STRIPE_KEY": "sk_live_0123456789",
    "db": '{"user": "app", "password": "p@ss w0rd", "port": 5432, "empty": null}',
    "NOT_JSON": "plain-text-value",
}
VALUES = ["sk_live_0123456789", "p@ss w0rd", "plain-text-value"]

BACKENDS = [
    pytest.param("env", id="env"),
    pytest.param("dotenv", id="dotenv"),
    pytest.param("aws", id="aws-moto", marks=pytest.mark.s3),
]


def aws_client(server: MotoServer) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=server.endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )


def aws_settings(server: MotoServer, prefix: str, **extra: Any) -> AwsSecretsSettings:
    return AwsSecretsSettings(
        region=S3_REGION,
        endpoint_url=server.endpoint_url,
        prefix=prefix,
        access_key_id=S3_ACCESS_KEY,
        secret_access_key=S3_SECRET_KEY,
        **extra,
    )


@pytest.fixture(params=BACKENDS)
def secrets(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Secrets]:
    if request.param == "env":
        for name, value in SECRETS.items():
            monkeypatch.setenv(f"APP_{name}", value)
        backend: Any = EnvSecrets("APP_")
    elif request.param == "dotenv":
        lines = [f"{name}='{value}'" for name, value in SECRETS.items()]
        (tmp_path / "secrets.env").write_text("\n".join(lines) + "\n")
        backend = DotenvSecrets(tmp_path / "secrets.env")
    else:
        server: MotoServer = request.getfixturevalue("moto_server")
        prefix = f"test-{uuid.uuid4().hex[:8]}/"
        client = aws_client(server)
        for name, value in SECRETS.items():
            client.create_secret(Name=prefix + name, SecretString=value)
        backend = AwsSecretsManager(aws_settings(server, prefix))
    yield Secrets.over(backend)
    asyncio.run(backend.stop())


def test_get_returns_secret_strings(secrets: Secrets) -> None:
    value = secrets.get("STRIPE_KEY")
    assert isinstance(value, SecretStr)
    assert value.get_secret_value() == "sk_live_0123456789"
    assert "sk_live" not in repr(value)
    assert "sk_live" not in str(value)
    assert "sk_live" not in f"{value}"


def test_missing_secrets_are_none_or_the_default(secrets: Secrets) -> None:
    assert secrets.get("MISSING") is None
    default = secrets.get("MISSING", "fallback")
    assert isinstance(default, SecretStr)
    assert default.get_secret_value() == "fallback"
    given = SecretStr("given")
    assert secrets.get("MISSING", given) is given


def test_require_names_the_secret_and_the_backend(secrets: Secrets) -> None:
    assert secrets.require("STRIPE_KEY").get_secret_value() == "sk_live_0123456789"
    with pytest.raises(SecretNotFoundError, match=r"Secret 'MISSING' is not in ") as caught:
        secrets.require("MISSING")
    assert secrets.backend.describe() in str(caught.value)


def test_fields_of_json_secrets(secrets: Secrets) -> None:
    password = secrets.get("db", field="password")
    assert password is not None
    assert password.get_secret_value() == "p@ss w0rd"
    port = secrets.require("db", field="port")
    assert port.get_secret_value() == "5432"
    assert secrets.get("db", field="nope") is None
    assert secrets.get("db", field="empty") is None
    assert secrets.get("MISSING", field="password") is None
    with pytest.raises(SecretNotFoundError, match=r"Secret 'db' in .* has no field 'nope'"):
        secrets.require("db", field="nope")


def test_a_field_of_a_non_json_secret_is_a_clear_error_without_the_value(
    secrets: Secrets,
) -> None:
    with pytest.raises(SecretsConfigurationError, match="not a JSON object") as caught:
        secrets.get("NOT_JSON", field="x")
    assert "plain-text-value" not in str(caught.value)


@pytest.mark.parametrize("name", ["", "line\nbreak", "x" * 513, 12, None])
def test_invalid_names_are_refused(secrets: Secrets, name: Any) -> None:
    with pytest.raises(InvalidSecretNameError):
        secrets.get(name)


def test_async_twins(secrets: Secrets) -> None:
    async def scenario() -> None:
        value = await secrets.aget("db", field="user")
        assert value is not None
        assert value.get_secret_value() == "app"
        assert await secrets.aget("MISSING") is None
        assert (await secrets.arequire("STRIPE_KEY")).get_secret_value() == "sk_live_0123456789"
        with pytest.raises(SecretNotFoundError):
            await secrets.arequire("MISSING")

    asyncio.run(scenario())


def test_values_never_reach_logs_or_errors(
    secrets: Secrets, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("tests.secrets")
    with caplog.at_level(logging.DEBUG):
        for name in SECRETS:
            logger.info("loaded %s = %s (%r)", name, secrets.get(name), secrets.get(name))
        logger.info("all: %s", {name: secrets.get(name) for name in SECRETS})
    messages = []
    for attempt in (
        lambda: secrets.require("db", field="nope"),
        lambda: secrets.get("NOT_JSON", field="x"),
        lambda: secrets.require("MISSING"),
    ):
        with pytest.raises(SecretsError) as caught:
            attempt()
        messages.append(str(caught.value))
    text = caplog.text + "\n".join(messages)
    assert "**********" in caplog.text
    for value in VALUES:
        assert value not in text


def test_aws_values_are_cached_for_their_ttl(tmp_path: Path, moto_server: MotoServer) -> None:
    prefix = f"ttl-{uuid.uuid4().hex[:8]}/"
    client = aws_client(moto_server)
    client.create_secret(Name=prefix + "token", SecretString="one")
    cached = AwsSecretsManager(aws_settings(moto_server, prefix, cache_ttl=300))
    fresh = AwsSecretsManager(aws_settings(moto_server, prefix, cache_ttl=0))
    assert cached.get("token") == "one"
    assert cached.get("later") is None
    client.put_secret_value(SecretId=prefix + "token", SecretString="two")
    client.create_secret(Name=prefix + "later", SecretString="now")
    assert cached.get("token") == "one", "kept for cache_ttl seconds"
    assert cached.get("later") is None, "misses are kept too"
    assert fresh.get("token") == "two"
    cached.forget("token")
    assert cached.get("token") == "two"
    cached.forget()
    assert cached.get("later") == "now"


def test_aws_binary_secrets_are_text(moto_server: MotoServer) -> None:
    prefix = f"bin-{uuid.uuid4().hex[:8]}/"
    client = aws_client(moto_server)
    client.create_secret(Name=prefix + "cert", SecretBinary=b"-----BEGIN-----")
    backend = AwsSecretsManager(aws_settings(moto_server, prefix))
    assert backend.get("cert") == "-----BEGIN-----"


def test_dotenv_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    backend = DotenvSecrets(path)
    assert backend.get("TOKEN") is None, "a missing file holds no secrets"
    path.write_text("TOKEN=one\n")
    assert backend.get("TOKEN") == "one"
    path.write_text("TOKEN=second\n")
    assert backend.get("TOKEN") == "second"
