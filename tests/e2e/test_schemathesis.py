"""schemathesis against the bookshop example and an app with ``tausestack.contrib.auth``.

Each operation of each app's OpenAPI document gets requests that schemathesis generates from
that document: schema-valid ones (``positive``) and, where the operation takes input, invalid
ones (``negative``). Every answer must be documented and match its documentation: no 5xx, no
undocumented status code, content type or header, no body that violates its schema. Whether
the app accepts every schema-valid request is not asserted (an unknown ISBN is a documented
404, a malformed email a documented 422).

The examples are bounded and derandomized (the same requests on every run, so CI is
reproducible) and sent in-process through schemathesis's ASGI transport, which runs the app's
lifespan. The auth routes that hash a password (argon2, a fifth of a second each) get fewer
examples than the others. The accounts are stored on SQLite and, for the routes that write
text to the database, on PostgreSQL too.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import SQLModel

from tausestack import Settings, TauseStackApp, create_app
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import AbstractAuthBackend
from tausestack.sdk.database import Database
from tests.services import PostgresServer

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "bookshop"
SECRET = "schemathesis-test-secret-of-32-bytes-or-more"
EMAIL, PASSWORD = "ana@example.com", "correct horse battery"

#: What every answer is held to (schemathesis's ``positive_data_acceptance`` is left out).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE
BOTH = (POSITIVE, NEGATIVE)

#: ``operation: (modes, examples per mode)``; an operation without input has no negative mode.
BOOKSHOP: dict[str, tuple[tuple[GenerationMode, ...], int]] = {
    "GET /books": (BOTH, 40),
    "POST /books": (BOTH, 40),
    "GET /books/{isbn}": ((POSITIVE,), 40),
    "GET /orders": ((POSITIVE,), 5),
    "POST /orders": (BOTH, 40),
    "GET /orders/{order_id}": (BOTH, 40),
    "GET /reports/sales": ((POSITIVE,), 5),
}
HASHES = 12  # examples for the routes that hash or check a password
AUTH: dict[str, tuple[tuple[GenerationMode, ...], int]] = {
    "POST /auth/register": (BOTH, HASHES),
    "POST /auth/login": (BOTH, HASHES),
    "POST /auth/refresh": (BOTH, 30),
    "POST /auth/logout": (BOTH, 30),
    "GET /auth/me": ((POSITIVE,), 5),
    "PATCH /auth/me": (BOTH, HASHES),
    "POST /auth/ws-ticket": ((POSITIVE,), 5),
    "POST /auth/session": (BOTH, HASHES),
    "DELETE /auth/session": ((POSITIVE,), 5),
}
#: The auth routes that store or look up text in the database, run on PostgreSQL too.
AUTH_ON_POSTGRES = ["POST /auth/register", "POST /auth/login", "PATCH /auth/me"]


def explore(
    schema: Any, label: str, mode: GenerationMode, examples: int, headers: dict[str, str]
) -> None:
    """Send ``examples`` generated requests to one operation; fail on the first bad answer
    (hypothesis then shrinks it to the smallest request that fails)."""
    method, path = label.split(" ", 1)
    operation = schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answer_as_documented(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    answer_as_documented()


def cases(
    operations: dict[str, tuple[tuple[GenerationMode, ...], int]], only: list[str] | None = None
) -> list[Any]:
    """``pytest.param(label, mode, examples)`` for each operation and mode."""
    return [
        pytest.param(label, mode, examples, id=f"{label}-{mode.value}")
        for label, (modes, examples) in operations.items()
        if only is None or label in only
        for mode in modes
    ]


def operations_of(schema: Any) -> set[str]:
    labels = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        labels.add(f"{operation.method.upper()} {operation.path}")
    return labels


# -- the bookshop example -------------------------------------------------------------------


def _forget_example_modules() -> None:
    for name in list(sys.modules):
        if name in {"apps", "main"} or name.startswith("apps."):
            del sys.modules[name]


@pytest.fixture
def bookshop(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The example's OpenAPI schema, bound to a fresh app of the example (seeded at startup)."""
    _forget_example_modules()
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    app = create_app(Settings(config_dir=EXAMPLE_DIR, profile="test"))
    yield schemathesis.openapi.from_asgi("/openapi.json", app)
    asgi.shutdown_lifespans()
    _forget_example_modules()


def test_every_operation_of_the_bookshop_is_explored(bookshop: Any) -> None:
    assert operations_of(bookshop) == set(BOOKSHOP)


@pytest.mark.parametrize(("label", "mode", "examples"), cases(BOOKSHOP))
def test_the_bookshop_answers_as_documented(
    bookshop: Any, label: str, mode: GenerationMode, examples: int
) -> None:
    explore(bookshop, label, mode, examples, headers={})


# -- an app with tausestack.contrib.auth ----------------------------------------------------


def build_auth_app(config_dir: Path, database_url: str) -> TauseStackApp:
    settings = Settings(
        config_dir=config_dir,
        profile="test",
        installed_apps=["tausestack.contrib.auth"],
        database={"url": database_url},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
    )
    app = create_app(settings)
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(app.container.get(Database).engine, tables=tables)  # type: ignore[arg-type]
    return app


def auth_schema(app: TauseStackApp) -> tuple[Any, dict[str, str]]:
    """The app's schema, and the headers of a logged-in account (so the guarded routes are
    explored past their 401)."""
    backend = app.container.get(AbstractAuthBackend)
    backend.create_user(EMAIL, PASSWORD)
    tokens = backend.login(EMAIL, PASSWORD)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema, {"Authorization": f"Bearer {tokens.access_token}"}


@pytest.fixture(scope="module")
def auth_on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict]]:
    """One app for the module (its accounts and tokens accumulate, as in production)."""
    folder = tmp_path_factory.mktemp("auth")
    yield auth_schema(build_auth_app(folder, f"sqlite:///{folder / 'app.db'}"))
    asgi.shutdown_lifespans()


@pytest.fixture(scope="module")
def auth_on_postgres(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[tuple[Any, dict]]:
    database = postgres_server.create_database()
    folder = tmp_path_factory.mktemp("auth-postgres")
    yield auth_schema(build_auth_app(folder, postgres_server.url(database)))
    asgi.shutdown_lifespans()
    postgres_server.drop_database(database)


def test_every_operation_of_contrib_auth_is_explored(auth_on_sqlite: tuple[Any, dict]) -> None:
    schema, _ = auth_on_sqlite
    assert operations_of(schema) == set(AUTH)
    assert set(AUTH_ON_POSTGRES) <= set(AUTH)


@pytest.mark.parametrize(("label", "mode", "examples"), cases(AUTH))
def test_contrib_auth_answers_as_documented(
    auth_on_sqlite: tuple[Any, dict], label: str, mode: GenerationMode, examples: int
) -> None:
    schema, headers = auth_on_sqlite
    explore(schema, label, mode, examples, headers)


@pytest.mark.parametrize(("label", "mode", "examples"), cases(AUTH, only=AUTH_ON_POSTGRES))
def test_contrib_auth_on_postgres_answers_as_documented(
    auth_on_postgres: tuple[Any, dict], label: str, mode: GenerationMode, examples: int
) -> None:
    schema, headers = auth_on_postgres
    explore(schema, label, mode, examples, headers)
