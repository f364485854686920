"""What ``config show`` and the reprs of settings hide: secret values by type and name, URL
passwords and secret query values; ``${secret:…}`` references stay as written."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, SecretStr

from tausestack._redaction import (
    REDACTED,
    RedactedReprModel,
    ResolvedText,
    mask_url_secrets,
    redacted_data,
    secret_name,
)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://app:hunter2@db/app", "postgresql://app:********@db/app"),
        ("redis://:p@ss@host:6379/0", "redis://:********@host:6379/0"),
        ("redis://:p@ss@host", "redis://:********@host"),
        ("postgresql://u:pa/ss@host/db", "postgresql://u:********@host/db"),
        ("postgresql://u:p?ss@host/db", "postgresql://u:********@host/db"),
        ("postgresql://app:pa ss@db/app", "postgresql://app:********@db/app"),
        ("postgresql://app:x@y:z/w@db:5432/shop", "postgresql://app:********@db:5432/shop"),
        ("postgresql://app: pass word @db", "postgresql://app:********@db"),
        ("postgresql://app:p@ss w0rd@db:5432/shop", "postgresql://app:********@db:5432/shop"),
        ("postgresql://app:p@s s@w0rd@db/shop", "postgresql://app:********@db/shop"),
        ("redis://:p@ss word@cache:6379/0", "redis://:********@cache:6379/0"),
        (
            "redis://:a b@c@cache:6379/0 then redis://:x@y/1",
            "redis://:********@cache:6379/0 then redis://:********@y/1",
        ),
        (
            "postgresql://u:pw@host/db?email=a@b.example",
            "postgresql://u:********@host/db?email=a@b.example",
        ),
        (
            "postgresql://app@db/app?password=querypw&sslmode=require",
            "postgresql://app@db/app?password=********&sslmode=require",
        ),
        (
            "postgresql://db/app?sslmode=require&sslpassword=keypw",
            "postgresql://db/app?sslmode=require&sslpassword=********",
        ),
        (
            "https://api.example/v1?api-key=k1&key=k2&page=2",
            "https://api.example/v1?api-key=********&key=********&page=2",
        ),
        (
            "https://api.example/v1?access%5Ftoken=t1",
            "https://api.example/v1?access%5Ftoken=********",
        ),
        ("postgresql://app:${secret:DB_PW}@db/app", "postgresql://app:${secret:DB_PW}@db/app"),
        ("postgresql://app@db/app?user=a:b@c", "postgresql://app@db/app?user=a:b@c"),
        ("sqlite:///app.db", "sqlite:///app.db"),
        ("not a url?password=x", "not a url?password=x"),
    ],
)
def test_url_passwords_and_secret_query_values_are_masked(text: str, shown: str) -> None:
    assert mask_url_secrets(text) == shown


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("api_key", "k", True),
        ("X-Api-Key", "k", True),
        ("Authorization", "Bearer t", True),
        ("Cookie", "session=abc", True),
        ("sentry_dsn", "https://key@sentry.example/1", True),
        ("webhook_tokens", {"github": "x"}, True),
        ("api_key", 123456789, True),
        ("db_password", 1234, True),
        ("min_password_length", 8, False),
        ("token_ttl", 900, False),
        ("password_required", True, False),
        ("password", None, False),
        ("backend", "dotenv", False),
        ("key", "ip", False),
    ],
)
def test_names_that_say_secret(name: str, value: Any, secret: bool) -> None:
    assert secret_name(name, value) is secret


@pytest.mark.parametrize(
    ("value", "secret", "leak"),
    [
        (123456789, True, "123456789"),  # api_key: 123456789 in YAML is an int
        ("postgresql://app@db/app?password=querypw", False, "querypw"),  # libpq takes it
        ({"Authorization": "Bearer eyJ.secretjwt"}, False, "secretjwt"),
        ({"X-Api-Key": "k-123"}, False, "k-123"),
        ("redis://:p@ss@host:6379/0", False, "ss@"),
        ("postgresql://app:pa ss@db/app", False, "pa ss"),
        ({"headers": {"Cookie": "session=c00kie"}}, False, "c00kie"),
        (SecretStr("s3cret"), False, "s3cret"),
    ],
    ids=[
        "int secret",
        "query password",
        "authorization header",
        "x-api-key",
        "@ in password",
        "space in password",
        "cookie header",
        "SecretStr",
    ],
)
def test_redacted_data_hides_the_secret(value: Any, secret: bool, leak: str) -> None:
    assert leak not in str(redacted_data(value, secret=secret))


def test_redacted_data_keeps_the_rest_and_references() -> None:
    data = {"page_size": 50, "api_token": "${secret:TOKEN}", "previous": ["a", "b"], "debug": True}
    assert redacted_data(data, secret=False) == data
    assert redacted_data({"tokens": ["a", "${secret:B}"]}, secret=False) == {
        "tokens": [REDACTED, "${secret:B}"]
    }


class Inner(BaseModel):
    """A model that does not mask its own repr, inside one that does."""

    password: str = "inner-pw"
    url: str = "redis://:inner-url-pw@cache:6379/0"


class Section(RedactedReprModel):
    cookie: str = "tausestack_session"
    api_key: str = "k-outer"
    token: SecretStr = SecretStr("secret-str")
    headers: dict[str, str] = {"Authorization": "Bearer header-jwt", "Accept": "text/plain"}
    inner: Inner = Inner()
    limits: list[int] = [1, 2]

    public_fields: ClassVar[frozenset[str]] = frozenset({"cookie"})


def test_the_repr_of_a_redacted_model_masks_its_secrets_and_the_dump_keeps_them() -> None:
    section = Section()
    for shown in (repr(section), str(section)):
        for leak in ("k-outer", "secret-str", "header-jwt", "inner-pw", "inner-url-pw"):
            assert leak not in shown
        assert "cookie='tausestack_session'" in shown  # listed in public_fields
        assert "'Accept': 'text/plain'" in shown
        assert "limits=[1, 2]" in shown
    assert "Inner(password='********', url='redis://:********@cache:6379/0')" in repr(section)
    dumped = section.model_dump()
    assert dumped["api_key"] == "k-outer"
    assert dumped["inner"]["password"] == "inner-pw"


def test_resolved_references_are_masked_in_json_dumps_of_any_shape() -> None:
    """A resolved ``${secret:…}`` under an int key, or in a list dumped with an item excluded,
    is found though the dump cannot be walked beside the model there."""

    class Hooks(RedactedReprModel):
        ports: dict[int, str] = {}
        urls: list[str] = []

    hooks = Hooks(ports={1: "x"}, urls=["a", "b"])
    hooks.ports[1] = ResolvedText("sk-live-123", "********")
    hooks.urls[1] = ResolvedText("https://h.example/in/tok-999", "https://h.example/in/********")
    for dumped in (hooks.model_dump_json(), hooks.model_dump_json(exclude={"urls": {0}})):
        assert "sk-live-123" not in dumped, dumped
        assert "tok-999" not in dumped, dumped
        assert "https://h.example/in/********" in dumped
    assert json.loads(hooks.model_dump_json())["ports"] == {"1": "********"}
    assert hooks.ports[1] == "sk-live-123"  # the code still gets the value
    assert repr(ResolvedText("redis://:pw@${x}", "redis://:pw@********")) == (
        "'redis://:********@********'"
    )
