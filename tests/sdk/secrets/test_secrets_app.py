"""Secrets in an application: the backend from settings, DI and module functions, and
``${secret:NAME}`` references resolved when the app is built."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tausestack import Service, Settings, create_app
from tausestack.sdk import secrets as secrets_module
from tausestack.sdk import use
from tausestack.sdk.secrets import (
    AbstractSecretsBackend,
    SecretNotFoundError,
    Secrets,
    SecretsConfigurationError,
)
from tausestack.sdk.secrets.aws import AwsSecretsManager
from tausestack.sdk.secrets.dotenv import DotenvSecrets
from tausestack.testing import TestClient
from tests.servers import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, MotoServer


@Service
class Payments:
    def __init__(self, secrets: Secrets) -> None:
        self.secrets = secrets

    def key(self) -> str:
        return self.secrets.require("STRIPE_KEY").get_secret_value()


def test_env_is_the_default_and_secrets_are_injectable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STRIPE_KEY", "sk_test")
    app = create_app(Settings(config_dir=tmp_path), components=[Payments])
    with TestClient(app):
        assert app.container.get(Payments).key() == "sk_test"
        assert app.container.get(AbstractSecretsBackend) is app.container.get(Secrets).backend


def test_module_functions_work_without_di(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("API_TOKEN=from-dotenv\n")
    monkeypatch.setenv("TAUSESTACK_SECRETS_BACKEND", "dotenv")  # the original SDK's variable
    app = create_app(Settings(config_dir=tmp_path))
    with use(app.container):
        token = secrets_module.require("API_TOKEN")
        assert token.get_secret_value() == "from-dotenv"
        assert isinstance(secrets_module.current().backend, DotenvSecrets)
        assert secrets_module.get("NOPE") is None


def test_aws_backend_from_settings(tmp_path: Path, moto_server: MotoServer) -> None:
    client = __import__("boto3").client(
        "secretsmanager",
        endpoint_url=moto_server.endpoint_url,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
    )
    client.create_secret(Name="app-settings/STRIPE_KEY", SecretString="sk_aws")
    options: dict[str, Any] = {
        "backend": "aws",
        "aws": {
            "region": S3_REGION,
            "endpoint_url": moto_server.endpoint_url,
            "prefix": "app-settings/",
            "access_key_id": S3_ACCESS_KEY,
            "secret_access_key": S3_SECRET_KEY,
        },
    }
    settings = Settings(
        config_dir=tmp_path, secrets=options, app={"description": "key ${secret:STRIPE_KEY}"}
    )
    app = create_app(settings, components=[Payments])
    with TestClient(app):
        assert isinstance(app.container.get(Secrets).backend, AwsSecretsManager)
        assert app.container.get(Payments).key() == "sk_aws"
    assert app.settings.app.description == "key sk_aws"


def test_references_are_resolved_when_the_app_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_NAME", "Ada's")
    monkeypatch.setenv("SIGNING", "s" * 40)
    monkeypatch.setenv("DB", '{"file": "shop.db"}')
    settings = Settings(
        config_dir=tmp_path,
        app={"title": "${secret:SHOP_NAME} shop"},
        storage={"url_signing_key": "${secret:SIGNING}"},
        database={"url": "sqlite:///${secret:DB#file}"},
    )
    assert settings.app.title == "${secret:SHOP_NAME} shop", "loading settings resolves nothing"
    app = create_app(settings)
    assert app.title == "Ada's shop"
    assert app.settings.app.title == "Ada's shop"
    signing_key = app.settings.storage.url_signing_key
    assert signing_key is not None
    assert signing_key.get_secret_value() == "s" * 40
    assert app.settings.database.url == "sqlite:///shop.db"


def test_a_missing_secret_stops_the_app_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESENT", "visible-value")
    settings = Settings(
        config_dir=tmp_path, app={"title": "${secret:PRESENT}", "description": "${secret:ABSENT}"}
    )
    with pytest.raises(SecretsConfigurationError) as caught:
        create_app(settings)
    message = str(caught.value)
    assert "app.description refers to secret 'ABSENT'" in message
    assert "environment variables" in message
    assert "visible-value" not in message


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"secrets": {"env": {"prefix": "${secret:P}"}}}, "secrets.env.prefix refers to a secret"),
        ({"app": {"title": "${secret:}"}}, "empty secret reference"),
        ({"app": {"title": "${secret:db#nope}"}}, "refers to field 'nope' of secret 'db'"),
    ],
)
def test_bad_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: dict[str, Any], expected: str
) -> None:
    monkeypatch.setenv("db", '{"user": "u"}')
    with pytest.raises(SecretsConfigurationError, match=expected):
        create_app(Settings(config_dir=tmp_path, **values))


def test_unknown_backend_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    settings = Settings(config_dir=tmp_path, secrets={"backend": "dotenvs"})
    with pytest.raises(SecretsConfigurationError, match="Did you mean 'dotenv'"):
        create_app(settings, components=[Payments])


def test_a_reference_to_a_secret_in_dotenv_says_to_choose_the_dotenv_backend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    (tmp_path / ".env").write_text("JWT_SECRET=jwt-value-0123456789-0123456789-0123\n")
    (tmp_path / "application.yaml").write_text("auth:\n  jwt:\n    secret: ${secret:JWT_SECRET}\n")
    with pytest.raises(SecretsConfigurationError) as caught:
        create_app(Settings(config_dir=tmp_path))
    message = str(caught.value)
    assert message.startswith(
        "auth.jwt.secret refers to secret 'JWT_SECRET', which is not in environment variables. "
        f"{tmp_path / '.env'} defines JWT_SECRET, but the env backend reads only the process "
        "environment: set secrets.backend: dotenv to read secrets from that file"
    )
    assert "jwt-value" not in message

    (tmp_path / "application.yaml").write_text(
        "secrets:\n  backend: dotenv\nauth:\n  jwt:\n    secret: ${secret:JWT_SECRET}\n"
    )
    secret = create_app(Settings(config_dir=tmp_path)).settings.auth.jwt.secret
    assert secret is not None
    assert secret.get_secret_value() == "jwt-value-0123456789-0123456789-0123"


def test_require_names_the_configured_dotenv_file_that_holds_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_KEY", raising=False)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "secrets.env").write_text("STRIPE_KEY=sk_in_file\n")
    settings = Settings(config_dir=tmp_path, secrets={"dotenv": {"path": "conf/secrets.env"}})
    app = create_app(settings, components=[Payments])
    with TestClient(app), pytest.raises(SecretNotFoundError) as caught:
        app.container.get(Payments).key()
    message = str(caught.value)
    assert f"{tmp_path / 'conf' / 'secrets.env'} defines STRIPE_KEY" in message
    assert "set secrets.backend: dotenv" in message
    assert "sk_in_file" not in message


def test_no_dotenv_hint_when_no_file_defines_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ABSENT", raising=False)
    (tmp_path / ".env").write_text("OTHER=1\nTAUSESTACK_APP__DEBUG=true\n")
    secrets = Secrets(Settings(config_dir=tmp_path))
    with pytest.raises(SecretNotFoundError) as caught:
        secrets.require("ABSENT")
    assert str(caught.value) == (
        "Secret 'ABSENT' is not in environment variables. Add it there, or choose another "
        "backend with secrets.backend."
    )
