"""The contract of ``AbstractAuthBackend``, run against every backend over real peers.

- ``jwt`` on SQLite and on a real PostgreSQL server;
- ``oidc`` against a JWKS served over HTTP by a test server (users belong to the provider, so
  the management methods must refuse);
- ``firebase`` against a real Firebase Auth emulator (firebase-tools) started by the fixtures.
  The emulator does not sign its tokens and firebase-admin skips the signature check while
  ``FIREBASE_AUTH_EMULATOR_HOST`` is set, so forgery tests do not apply to it there; the
  backend refuses to start with that variable outside a dev profile instead
  (tests/sdk/auth/test_firebase.py).

Each case knows how to make an account with roles and how to get a token for it the way a
client would (a login, a sign-in with the emulator, a token from the provider).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi import WebSocket
from sqlmodel import SQLModel
from starlette.testclient import WebSocketDenialResponse

from tausestack import Controller, Settings, create_app, get, provider, websocket
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    AuthenticationError,
    CurrentUser,
    OperationNotSupportedError,
    User,
)
from tausestack.sdk.auth._providers import auth_backend
from tausestack.sdk.auth.errors import InvalidUserDataError, UserExistsError, UserNotFoundError
from tausestack.testing import TestClient
from tests.jwks_server import AUDIENCE, jwks_provider
from tests.jwks_server import token as oidc_token

PASSWORD = "correct horse battery"
SECRET = "contract-suite-secret-of-at-least-32-bytes"


@dataclass
class Case:
    """One backend under test and what the suite needs to drive it."""

    name: str
    backend: AbstractAuthBackend
    #: A new account (or, for oidc, the user a provider token will name) with these roles.
    make_user: Callable[[str, list[str]], User]
    #: A fresh token for a user made by ``make_user``, as a client would get it.
    token_for: Callable[[User], str]
    #: An expired token for that user (signed correctly).
    expired_token: Callable[[User], str]
    manages_users: bool = True
    checks_signatures: bool = True


def _jwt_case(database: dict[str, str], tmp_path: Path) -> Iterator[Case]:
    settings = Settings(
        config_dir=tmp_path, database=database, auth={"backend": "jwt", "jwt": {"secret": SECRET}}
    )
    backend: Any = auth_backend(settings)
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(backend.database.engine, tables=tables)  # type: ignore[arg-type]

    def make_user(email: str, roles: list[str]) -> User:
        user: User = backend.create_user(email, PASSWORD, roles=roles)
        return user

    def token_for(user: User) -> str:
        assert user.email is not None
        token: str = backend.login(user.email, PASSWORD).access_token
        return token

    def expired_token(user: User) -> str:
        account = AuthAccount(
            id=user.id, email=user.email or "", password_hash="", created_at=0, updated_at=0
        )
        stale: str = backend.access_token(account, now=time.time() - 3600)
        return stale

    yield Case("jwt", backend, make_user, token_for, expired_token)
    backend.database.engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("jwt-sqlite", id="jwt-sqlite"),
        pytest.param("jwt-postgres", id="jwt-postgres", marks=pytest.mark.postgres),
        pytest.param("oidc", id="oidc"),
        pytest.param("firebase", id="firebase", marks=pytest.mark.firebase),
    ]
)
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    kind = request.param
    if kind == "jwt-sqlite":
        yield from _jwt_case({"url": f"sqlite:///{tmp_path / 'auth.db'}"}, tmp_path)
    elif kind == "jwt-postgres":
        yield from _jwt_case({"url": request.getfixturevalue("postgres_url")}, tmp_path)
    elif kind == "oidc":
        yield from _oidc_case(tmp_path)
    else:
        yield from _firebase_case(request, tmp_path)


def _oidc_case(tmp_path: Path) -> Iterator[Case]:
    with jwks_provider() as (issuer, keys):
        settings = Settings(
            config_dir=tmp_path,
            auth={"backend": "oidc", "oidc": {"issuer": issuer, "audience": AUDIENCE}},
        )
        users: dict[str, User] = {}

        def make_user(email: str, roles: list[str]) -> User:
            user = User(id=f"oidc|{len(users) + 1}", email=email, roles=tuple(roles))
            users[user.id] = user
            return user

        def token_for(user: User, age: float = 0) -> str:
            issued = int(time.time() - age)
            return oidc_token(
                issuer,
                keys.current,
                sub=user.id,
                email=user.email,
                roles=list(user.roles),
                iat=issued,
                exp=issued + 300,
            )

        yield Case(
            "oidc",
            auth_backend(settings),
            make_user,
            token_for,
            lambda user: token_for(user, age=3600),
            manages_users=False,
        )


def _firebase_case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    emulator = request.getfixturevalue("firebase")
    settings = Settings(
        config_dir=tmp_path,
        profile="test",
        auth={"backend": "firebase", "firebase": {"project_id": emulator.project_id}},
    )
    backend = auth_backend(settings)

    def make_user(email: str, roles: list[str]) -> User:
        user = backend.create_user(email, PASSWORD)
        return backend.set_roles(user.id, roles) if roles else user

    def token_for(user: User) -> str:
        assert user.email is not None
        token: str = emulator.sign_in(user.email, PASSWORD)
        return token

    def expired_token(user: User) -> str:
        # The emulator's tokens are unsigned (alg none): an expired one is made the same way.
        claims = _claims(token_for(user))
        claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
        return _unsigned(claims)

    yield Case("firebase", backend, make_user, token_for, expired_token, checks_signatures=False)
    import anyio

    anyio.run(backend.stop)


# -- helpers ----------------------------------------------------------------------------------


def _segment(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _unsigned(claims: dict[str, Any]) -> str:
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def _tampered(token: str, **changes: Any) -> str:
    """The same token with its payload changed and its signature kept."""
    header, _, signature = token.split(".")
    return f"{header}.{_segment({**_claims(token), **changes})}.{signature}"


def _refused(case: Case, token: str) -> str:
    with pytest.raises(AuthenticationError) as refusal:
        case.backend.verify_token(token)
    if token:
        assert token not in str(refusal.value)
    return refusal.value.reason


# -- token verification -----------------------------------------------------------------------


def test_a_valid_token_gives_its_user(case: Case) -> None:
    user = case.make_user("ana@example.com", ["editor"])
    verified = case.backend.verify_token(case.token_for(user))
    assert verified.id == user.id
    assert verified.email == "ana@example.com"
    assert verified.roles == ("editor",)
    assert verified.disabled is False
    assert verified.claims["sub"] == user.id


@pytest.mark.anyio
async def test_async_verification_gives_the_same_user(case: Case) -> None:
    user = case.make_user("ben@example.com", [])
    token = case.token_for(user)
    assert await case.backend.averify_token(token) == case.backend.verify_token(token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "a.b", "Bearer x.y.z", "🙂.🙂.🙂"])
def test_malformed_tokens_are_refused(case: Case, token: str) -> None:
    assert _refused(case, token) in {"malformed_token", "invalid_token"}


def test_an_expired_token_is_refused(case: Case) -> None:
    user = case.make_user("cy@example.com", [])
    assert _refused(case, case.expired_token(user)) == "token_expired"


def test_a_token_with_a_changed_payload_is_refused(case: Case) -> None:
    """A user cannot grant itself a role by editing its token."""
    if not case.checks_signatures:
        pytest.skip("the Firebase emulator's tokens are unsigned; see the module docstring")
    user = case.make_user("dee@example.com", [])
    forged = _tampered(case.token_for(user), roles=["admin"], admin=True)
    assert _refused(case, forged) == "invalid_signature"


def test_an_unsigned_alg_none_token_is_refused(case: Case) -> None:
    if not case.checks_signatures:
        pytest.skip("the Firebase emulator's tokens are unsigned; see the module docstring")
    user = case.make_user("eve@example.com", [])
    forged = _unsigned({**_claims(case.token_for(user)), "roles": ["admin"]})
    assert _refused(case, forged) in {"algorithm_not_allowed", "invalid_token"}


def test_a_token_signed_with_another_key_is_refused(case: Case) -> None:
    if not case.checks_signatures:
        pytest.skip("the Firebase emulator's tokens are unsigned; see the module docstring")
    user = case.make_user("fay@example.com", [])
    token = case.token_for(user)
    header = jwt.get_unverified_header(token)
    key: Any = "another-secret-that-is-at-least-32-bytes-long"
    if header["alg"].startswith("RS"):
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(token), key, algorithm=header["alg"], headers=header)
    assert _refused(case, forged) == "invalid_signature"


# -- over HTTP: 401, 403, and no way to grant oneself a role ----------------------------------


@Controller("/desk")
class Desk:
    @get("/me")
    def me(self, user: CurrentUser) -> dict[str, Any]:
        return {"id": user.id, "roles": list(user.roles)}

    @get("/admin", roles=["admin"])
    def admin(self) -> dict[str, bool]:
        return {"admin": True}

    @websocket("/feed")
    async def feed(self, socket: WebSocket, user: CurrentUser) -> None:
        await socket.accept()
        await socket.send_json({"id": user.id, "roles": list(user.roles)})
        await socket.close()

    @websocket("/admin-feed", roles=["admin"])
    async def admin_feed(self, socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_json({"admin": True})
        await socket.close()


def _client(case: Case, tmp_path: Path) -> TestClient:
    """An app whose auth backend is the case's."""

    @provider
    def backend() -> AbstractAuthBackend:
        return case.backend

    return TestClient(create_app(Settings(config_dir=tmp_path), components=[Desk, backend]))


def test_routes_answer_401_and_403_with_reasons(case: Case, tmp_path: Path) -> None:
    user = case.make_user("gus@example.com", ["staff"])
    admin = case.make_user("hal@example.com", ["admin"])
    with _client(case, tmp_path) as client:
        missing = client.get("/desk/me")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert missing.json()["detail"]["reason"] == "missing_token"

        bearer = {"Authorization": f"Bearer {case.token_for(user)}"}
        assert client.get("/desk/me", headers=bearer).json() == {"id": user.id, "roles": ["staff"]}
        denied = client.get("/desk/admin", headers=bearer)
        assert denied.status_code == 403
        assert denied.json()["detail"]["reason"] == "missing_role"

        expired = {"Authorization": f"Bearer {case.expired_token(user)}"}
        assert client.get("/desk/me", headers=expired).json()["detail"]["reason"] == "token_expired"

        allowed = client.get(
            "/desk/admin", headers={"Authorization": f"Bearer {case.token_for(admin)}"}
        )
        assert allowed.status_code == 200


def test_a_user_cannot_grant_itself_a_role_over_http(case: Case, tmp_path: Path) -> None:
    user = case.make_user("ida@example.com", [])
    token = case.token_for(user)
    with _client(case, tmp_path) as client:
        if case.checks_signatures:
            for forged in (
                _tampered(token, roles=["admin"]),
                _unsigned({**_claims(token), "roles": ["admin"]}),
            ):
                answer = client.get("/desk/admin", headers={"Authorization": f"Bearer {forged}"})
                assert answer.status_code == 401
        answer = client.get("/desk/admin", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 403
    if case.manages_users:
        assert case.backend.get_user(user.id).roles == ()  # type: ignore[union-attr]


def _denied(client: TestClient, path: str, headers: dict[str, str] | None = None) -> str:
    """The reason of a websocket handshake refused with a 403 denial response."""
    with (
        pytest.raises(WebSocketDenialResponse) as denial,
        client.websocket_connect(path, headers=dict(headers or {})),
    ):
        pass
    assert denial.value.status_code == 403
    reason: str = denial.value.json()["detail"]["reason"]
    return reason


def test_websockets_authenticate_at_the_handshake(case: Case, tmp_path: Path) -> None:
    user = case.make_user("jan@example.com", ["staff"])
    admin = case.make_user("kai@example.com", ["admin"])
    with _client(case, tmp_path) as client:
        bearer = {"Authorization": f"Bearer {case.token_for(user)}"}
        with client.websocket_connect("/desk/feed", headers=bearer) as socket:
            assert socket.receive_json() == {"id": user.id, "roles": ["staff"]}
        assert _denied(client, "/desk/feed") == "missing_token"
        expired = {"Authorization": f"Bearer {case.expired_token(user)}"}
        assert _denied(client, "/desk/feed", expired) == "token_expired"
        assert _denied(client, "/desk/feed", {"Authorization": "Bearer x.y.z"}) in {
            "malformed_token",
            "invalid_token",
        }
        assert _denied(client, "/desk/admin-feed", bearer) == "missing_role"
        admin_bearer = {"Authorization": f"Bearer {case.token_for(admin)}"}
        with client.websocket_connect("/desk/admin-feed", headers=admin_bearer) as socket:
            assert socket.receive_json() == {"admin": True}


# -- user management --------------------------------------------------------------------------


def test_management_is_refused_where_the_provider_owns_users(case: Case) -> None:
    if case.manages_users:
        pytest.skip(f"{case.name} manages its users")
    for call in (
        lambda: case.backend.get_user("x"),
        lambda: case.backend.get_user_by_email("x@example.com"),
        lambda: case.backend.create_user("x@example.com", PASSWORD),
        lambda: case.backend.update_user("x", display_name="X"),
        lambda: case.backend.delete_user("x"),
        lambda: case.backend.set_roles("x", ["admin"]),
        lambda: case.backend.revoke_tokens("x"),
    ):
        with pytest.raises(OperationNotSupportedError, match="managed elsewhere"):
            call()


@pytest.fixture
def managing(case: Case) -> Case:
    if not case.manages_users:
        pytest.skip(f"{case.name}: users are managed by the provider")
    return case


def test_create_get_update_delete(managing: Case) -> None:
    backend = managing.backend
    created = backend.create_user("Jo@Example.com", PASSWORD, display_name="Jo")
    assert created.email == "jo@example.com"
    assert created.display_name == "Jo"
    assert created.roles == ()
    assert backend.get_user(created.id) == created
    assert backend.get_user_by_email("jo@example.com") == created
    assert backend.get_user("no-such-user") is None
    assert backend.get_user_by_email("nobody@example.com") is None

    updated = backend.update_user(created.id, display_name="Joanna", disabled=True)
    assert (updated.display_name, updated.disabled) == ("Joanna", True)
    assert backend.get_user(created.id) == updated

    backend.delete_user(created.id)
    assert backend.get_user(created.id) is None
    with pytest.raises(UserNotFoundError):
        backend.delete_user(created.id)
    with pytest.raises(UserNotFoundError):
        backend.update_user(created.id, display_name="Ghost")


def test_a_duplicate_email_is_refused_and_changes_nothing(managing: Case) -> None:
    first = managing.backend.create_user("kim@example.com", PASSWORD, display_name="Kim")
    with pytest.raises(UserExistsError, match="kim@example.com"):
        managing.backend.create_user("kim@example.com", "another password", display_name="Other")
    assert managing.backend.get_user_by_email("kim@example.com") == first


@pytest.mark.parametrize(
    ("email", "password", "fields"),
    [
        ("not-an-email", PASSWORD, {}),
        ("[red]lee[/red]@example.com", PASSWORD, {}),
        ("Lee <lee@example.com>", PASSWORD, {}),
        ("lee@example.com", "short", {}),
        ("lee@example.com", PASSWORD, {"favourite_colour": "blue"}),
    ],
)
def test_invalid_user_data_is_refused_and_creates_nothing(
    managing: Case, email: str, password: str, fields: dict[str, Any]
) -> None:
    with pytest.raises(InvalidUserDataError):
        managing.backend.create_user(email, password, **fields)
    assert managing.backend.get_user_by_email("lee@example.com") is None


def test_roles_set_by_the_application_reach_new_tokens(managing: Case) -> None:
    user = managing.make_user("max@example.com", [])
    assert managing.backend.verify_token(managing.token_for(user)).roles == ()
    updated = managing.backend.set_roles(user.id, ["editor", "admin"])
    assert set(updated.roles) == {"editor", "admin"}
    assert set(managing.backend.verify_token(managing.token_for(updated)).roles) == {
        "editor",
        "admin",
    }
    with pytest.raises(UserNotFoundError):
        managing.backend.set_roles("no-such-user", ["admin"])
    with pytest.raises(InvalidUserDataError):
        managing.backend.set_roles(user.id, "admin")  # type: ignore[arg-type]


def test_update_user_refuses_roles_and_unknown_fields(managing: Case) -> None:
    user = managing.make_user("ned@example.com", [])
    for fields in ({"roles": ["admin"]}, {"is_admin": True}):
        with pytest.raises(InvalidUserDataError):
            managing.backend.update_user(user.id, **fields)
    assert managing.backend.get_user(user.id) == user


@pytest.mark.anyio
async def test_async_twins(managing: Case) -> None:
    backend = managing.backend
    user = await backend.acreate_user("ola@example.com", PASSWORD)
    assert await backend.aget_user(user.id) == user
    assert await backend.aget_user_by_email("ola@example.com") == user
    assert (await backend.aset_roles(user.id, ["staff"])).roles == ("staff",)
    assert (await backend.aupdate_user(user.id, display_name="Ola")).display_name == "Ola"
    await backend.adelete_user(user.id)
    assert await backend.aget_user(user.id) is None
