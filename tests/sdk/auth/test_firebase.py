"""The ``firebase`` backend against a real Firebase Auth emulator (firebase-tools): tokens signed
in through the emulator's REST API, accounts managed through firebase-admin, and an app that
answers 401/403 with reasons. Credential errors need no emulator."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends

from tausestack import Controller, Settings, create_app, get
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    AuthConfigurationError,
    AuthenticationError,
    CurrentUser,
    User,
    require_roles,
)
from tausestack.sdk.auth.errors import InvalidUserDataError, UserExistsError, UserNotFoundError
from tausestack.sdk.settings import FirebaseSettings
from tausestack.testing import TestClient
from tests.firebase import PROJECT_ID, FirebaseEmulator
from tests.firebase_fixtures import FIREBASE_ADMIN_INSTALL_HINT
from tests.services import require_module

PASSWORD = "correct-horse"
EMULATOR_VARIABLE = "FIREBASE_AUTH_EMULATOR_HOST"

BackendFactory = Callable[..., Any]


@pytest.fixture
def make_backend() -> Iterator[BackendFactory]:
    """Build FirebaseBackends (profile "test" unless given); stop them all after the test."""
    require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    from tausestack.sdk.auth.firebase import FirebaseBackend

    built: list[FirebaseBackend] = []

    def factory(profile: str = "test", **settings: Any) -> FirebaseBackend:
        settings.setdefault("project_id", PROJECT_ID)
        backend = FirebaseBackend(FirebaseSettings(**settings), profile=profile)
        built.append(backend)
        return backend

    yield factory
    for backend in built:
        anyio.run(backend.stop)


@pytest.fixture
def backend(firebase: FirebaseEmulator, make_backend: BackendFactory) -> Any:
    """A backend on the emptied emulator, without revocation checks."""
    return make_backend()


@pytest.fixture
def checking(firebase: FirebaseEmulator, make_backend: BackendFactory) -> Any:
    """A backend on the emptied emulator that asks Firebase about revocation on every token."""
    return make_backend(check_revoked=True)


def forge(firebase: FirebaseEmulator, uid: str = "someone-else", **claims: Any) -> str:
    """An unsigned token shaped like the emulator's (firebase-admin checks no signature then)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {
        "iss": f"https://securetoken.google.com/{firebase.project_id}",
        "aud": firebase.project_id,
        "sub": uid,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def refusal(backend: Any, token: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        backend.verify_token(token)
    assert not token or token not in str(caught.value), "a token is never part of a message"
    return caught.value


# -- tokens ------------------------------------------------------------------------------------


def test_a_signed_in_user_is_verified_with_the_roles_set_for_them(
    firebase: FirebaseEmulator, backend: Any
) -> None:
    created = backend.create_user("ada@example.com", PASSWORD, display_name="Ada Lovelace")
    before = backend.verify_token(firebase.sign_in("ada@example.com", PASSWORD))
    assert before.roles == ()
    backend.set_roles(created.id, ["editor", "admin"])
    stale = firebase.sign_in("ada@example.com", PASSWORD)
    user = backend.verify_token(stale)
    assert isinstance(user, User)
    assert user.id == created.id
    assert user.email == "ada@example.com"
    assert user.email_verified is False
    assert user.display_name == "Ada Lovelace"
    assert user.disabled is False
    assert user.roles == ("editor", "admin")
    assert user.claims["email"] == "ada@example.com"
    assert user.claims["firebase"]["sign_in_provider"] == "password"


def test_set_roles_keeps_the_other_custom_claims(firebase: FirebaseEmulator, backend: Any) -> None:
    auth = require_module("firebase_admin.auth", FIREBASE_ADMIN_INSTALL_HINT)
    created = backend.create_user("ada@example.com", PASSWORD, roles=["reader"])
    assert created.roles == ("reader",)
    auth.set_custom_user_claims(created.id, {"roles": ["reader"], "tier": "gold"}, app=backend.app)
    updated = backend.set_roles(created.id, ["editor"])
    assert updated.roles == ("editor",)
    assert updated.claims == {"roles": ["editor"], "tier": "gold"}
    claims = backend.verify_token(firebase.sign_in("ada@example.com", PASSWORD)).claims
    assert (claims["roles"], claims["tier"]) == (["editor"], "gold")
    assert backend.set_roles(created.id, []).roles == ()


def test_a_roles_claim_that_is_not_a_list_is_refused(
    firebase: FirebaseEmulator, backend: Any
) -> None:
    auth = require_module("firebase_admin.auth", FIREBASE_ADMIN_INSTALL_HINT)
    created = backend.create_user("ada@example.com", PASSWORD)
    auth.set_custom_user_claims(created.id, {"roles": "admin"}, app=backend.app)
    assert refusal(backend, firebase.sign_in("ada@example.com", PASSWORD)).reason == "invalid_claim"
    with pytest.raises(InvalidUserDataError, match="set_roles"):
        backend.get_user(created.id)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda firebase: "not-a-jwt", "malformed_token"),
        (lambda firebase: "a.b.c", "malformed_token"),
        (lambda firebase: "", "malformed_token"),
        (lambda firebase: forge(firebase, exp=int(time.time()) - 60), "token_expired"),
        (lambda firebase: forge(firebase, aud="demo-other-project"), "invalid_audience"),
        (lambda firebase: forge(firebase, iss="https://evil.example.com"), "invalid_issuer"),
        (lambda firebase: forge(firebase, sub=None), "missing_claim"),
        (lambda firebase: forge(firebase, exp=None), "missing_claim"),
        (
            lambda firebase: forge(
                firebase,
                aud="https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit",
            ),
            "invalid_audience",
        ),
    ],
    ids=[
        "not-a-jwt",
        "garbage-segments",
        "empty",
        "expired",
        "other-project",
        "other-issuer",
        "no-subject",
        "no-expiry",
        "custom-token",
    ],
)
def test_bad_tokens_are_refused_with_a_reason(
    firebase: FirebaseEmulator, backend: Any, make: Any, reason: str
) -> None:
    assert refusal(backend, make(firebase)).reason == reason


def test_the_emulator_accepts_forged_tokens_so_production_profiles_refuse_it(
    firebase: FirebaseEmulator, make_backend: BackendFactory
) -> None:
    # What the refusal protects against: with the emulator, an unsigned token for anyone passes.
    forged = make_backend(profile="test").verify_token(forge(firebase, "admin", roles=["admin"]))
    assert (forged.id, forged.roles) == ("admin", ("admin",))
    with pytest.raises(AuthConfigurationError, match="unsigned") as caught:
        make_backend(profile="prod")
    assert EMULATOR_VARIABLE in str(caught.value)
    assert "emulator_profiles" in str(caught.value)
    staging = make_backend(profile="staging", emulator_profiles=["dev", "test", "staging"])
    assert staging.verify_token(forge(firebase, "x")).id == "x"


def test_a_production_backend_refuses_tokens_once_the_emulator_variable_appears(
    firebase: FirebaseEmulator,
    make_backend: BackendFactory,
    service_account: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(EMULATOR_VARIABLE)
    production = make_backend(profile="prod", credentials=json.dumps(service_account))
    monkeypatch.setenv(EMULATOR_VARIABLE, firebase.host)
    with pytest.raises(AuthConfigurationError, match="unsigned"):
        production.verify_token(forge(firebase, "admin", aud="demo-from-credentials"))


def test_revoked_tokens_are_refused_when_revocation_is_checked(
    firebase: FirebaseEmulator, checking: Any, backend: Any
) -> None:
    created = checking.create_user("ada@example.com", PASSWORD)
    token = firebase.sign_in("ada@example.com", PASSWORD)
    assert checking.verify_token(token).id == created.id
    time.sleep(1.1)  # Firebase compares whole seconds: revoke after the token's second
    checking.revoke_tokens(created.id)
    assert refusal(checking, token).reason == "token_revoked"
    assert backend.verify_token(token).id == created.id, "unchecked, it stays valid until exp"
    assert checking.verify_token(firebase.sign_in("ada@example.com", PASSWORD)).id == created.id


def test_a_deleted_users_token_is_refused_when_revocation_is_checked(
    firebase: FirebaseEmulator, checking: Any
) -> None:
    created = checking.create_user("ada@example.com", PASSWORD)
    token = firebase.sign_in("ada@example.com", PASSWORD)
    checking.delete_user(created.id)
    assert refusal(checking, token).reason == "user_not_found"


def test_a_disabled_user_gets_403(
    firebase: FirebaseEmulator, checking: Any, tmp_path: Path
) -> None:
    created = checking.create_user("ada@example.com", PASSWORD, roles=["admin"])
    token = firebase.sign_in("ada@example.com", PASSWORD)
    checking.update_user(created.id, disabled=True)
    user = checking.verify_token(token)
    assert (user.id, user.disabled, user.roles) == (created.id, True, ("admin",))
    with pytest.raises(RuntimeError, match="USER_DISABLED"):
        firebase.sign_in("ada@example.com", PASSWORD)
    with client(tmp_path, check_revoked=True) as http:
        response = http.get("/shop/me", headers=bearer(token))
        assert response.status_code == 403
        assert response.json()["detail"]["reason"] == "user_disabled"


# -- accounts ----------------------------------------------------------------------------------


def test_create_and_look_up_users(backend: Any) -> None:
    created = backend.create_user(
        "ada@example.com", PASSWORD, display_name="Ada", email_verified=True, roles=["editor"]
    )
    assert (created.email, created.display_name, created.email_verified) == (
        "ada@example.com",
        "Ada",
        True,
    )
    assert created.roles == ("editor",)
    assert backend.get_user(created.id) == created
    assert backend.get_user_by_email("ada@example.com") == created
    assert backend.get_user("no-such-user") is None
    assert backend.get_user_by_email("nobody@example.com") is None
    disabled = backend.create_user("bob@example.com", PASSWORD, disabled=True)
    assert disabled.disabled is True
    assert disabled.roles == ()


def test_create_user_refuses_duplicates_and_bad_data(backend: Any) -> None:
    backend.create_user("ada@example.com", PASSWORD)
    with pytest.raises(UserExistsError, match="ada@example.com"):
        backend.create_user("ada@example.com", "another-password")
    with pytest.raises(InvalidUserDataError, match="email address"):
        backend.create_user("not-an-email", PASSWORD)
    with pytest.raises(InvalidUserDataError, match="at least 6") as caught:
        backend.create_user("bob@example.com", "short")
    assert "short" not in str(caught.value).replace("at least", "")
    with pytest.raises(InvalidUserDataError, match="phone_number"):
        backend.create_user("bob@example.com", PASSWORD, phone_number="+15550100")
    with pytest.raises(InvalidUserDataError, match="list of role names"):
        backend.create_user("bob@example.com", PASSWORD, roles="admin")
    with pytest.raises(InvalidUserDataError, match="True or False"):
        backend.create_user("bob@example.com", PASSWORD, disabled="yes")
    assert backend.get_user_by_email("bob@example.com") is None, "nothing half-created"


def test_update_user(firebase: FirebaseEmulator, backend: Any) -> None:
    created = backend.create_user("ada@example.com", PASSWORD, display_name="Ada")
    updated = backend.update_user(
        created.id, email="ada@example.org", email_verified=True, display_name="Countess"
    )
    assert (updated.id, updated.email, updated.email_verified, updated.display_name) == (
        created.id,
        "ada@example.org",
        True,
        "Countess",
    )
    assert backend.update_user(created.id, display_name=None).display_name is None
    assert backend.update_user(created.id) == backend.get_user(created.id)
    backend.update_user(created.id, password="a-new-password")
    with pytest.raises(RuntimeError, match="INVALID_PASSWORD|INVALID_LOGIN_CREDENTIALS"):
        firebase.sign_in("ada@example.org", PASSWORD)
    assert backend.verify_token(firebase.sign_in("ada@example.org", "a-new-password")).id == (
        created.id
    )


def test_update_user_errors(backend: Any) -> None:
    ada = backend.create_user("ada@example.com", PASSWORD)
    backend.create_user("bob@example.com", PASSWORD)
    with pytest.raises(InvalidUserDataError) as caught:
        backend.update_user(ada.id, roles=["admin"])
    for allowed in ("email", "password", "display_name", "email_verified", "disabled"):
        assert allowed in str(caught.value)
    with pytest.raises(UserNotFoundError, match="no-such-user"):
        backend.update_user("no-such-user", display_name="X")
    with pytest.raises(UserExistsError, match="bob@example.com"):
        backend.update_user(ada.id, email="bob@example.com")
    with pytest.raises(InvalidUserDataError):
        backend.update_user(ada.id, password="short")
    assert backend.get_user(ada.id).email == "ada@example.com"


def test_delete_set_roles_and_revoke_need_an_existing_user(backend: Any) -> None:
    created = backend.create_user("ada@example.com", PASSWORD)
    backend.delete_user(created.id)
    assert backend.get_user(created.id) is None
    operations: list[Callable[[], object]] = [
        lambda: backend.delete_user(created.id),
        lambda: backend.set_roles(created.id, ["admin"]),
        lambda: backend.revoke_tokens(created.id),
    ]
    for operation in operations:
        with pytest.raises(UserNotFoundError):
            operation()
    with pytest.raises(InvalidUserDataError):
        backend.get_user("")


# -- lifecycle -----------------------------------------------------------------------------------


def test_two_backends_in_one_process_do_not_collide(
    firebase: FirebaseEmulator, make_backend: BackendFactory
) -> None:
    firebase_admin = require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    first, second = make_backend(), make_backend(check_revoked=True)
    assert first.app_name != second.app_name
    created = first.create_user("ada@example.com", PASSWORD)
    token = firebase.sign_in("ada@example.com", PASSWORD)
    anyio.run(first.stop)
    assert second.verify_token(token).id == created.id
    with pytest.raises(ValueError, match="does not exist"):
        firebase_admin.get_app(first.app_name)
    assert firebase_admin.get_app(second.app_name) is second.app


def test_stop_is_idempotent_and_a_later_use_makes_a_new_app(
    firebase: FirebaseEmulator, backend: Any
) -> None:
    firebase_admin = require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    created = backend.create_user("bea@example.com", PASSWORD)
    token = firebase.sign_in("bea@example.com", PASSWORD)
    anyio.run(backend.stop)
    anyio.run(backend.stop)
    with pytest.raises(ValueError, match="does not exist"):
        firebase_admin.get_app(backend.app_name)
    assert backend.verify_token(token).id == created.id  # started again: a new app
    assert firebase_admin.get_app(backend.app_name) is backend.app


def test_a_backend_that_is_never_used_makes_no_firebase_app(
    firebase: FirebaseEmulator, make_backend: BackendFactory
) -> None:
    firebase_admin = require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    idle = make_backend()
    with pytest.raises(ValueError, match="does not exist"):
        firebase_admin.get_app(idle.app_name)


def test_an_app_started_twice_still_verifies(firebase: FirebaseEmulator, tmp_path: Path) -> None:
    app = client(tmp_path).app
    for _ in range(2):
        with TestClient(app) as http:
            backend = http.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]
            if backend.get_user_by_email("cal@example.com") is None:
                backend.create_user("cal@example.com", PASSWORD)
            token = firebase.sign_in("cal@example.com", PASSWORD)
            assert http.get("/shop/me", headers=bearer(token)).status_code == 200


def test_the_emulator_needs_a_project_id(
    firebase: FirebaseEmulator, make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    monkeypatch.delenv("GCLOUD_PROJECT", raising=False)
    with pytest.raises(AuthConfigurationError, match="project_id"):
        make_backend(project_id=None)
    monkeypatch.setenv(EMULATOR_VARIABLE, f"http://{firebase.host}")
    with pytest.raises(AuthConfigurationError, match="host:port"):
        make_backend()


# -- credentials (no emulator) -------------------------------------------------------------------


@pytest.fixture
def service_account() -> dict[str, str]:
    """A syntactically valid service account (its key signs nothing here)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "demo-from-credentials",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": "tausestack@demo-from-credentials.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


@pytest.fixture
def production(make_backend: BackendFactory, monkeypatch: pytest.MonkeyPatch) -> BackendFactory:
    """make_backend without the emulator, in the "prod" profile, with no project by default."""
    monkeypatch.delenv(EMULATOR_VARIABLE, raising=False)

    def factory(**settings: Any) -> Any:
        settings.setdefault("project_id", None)
        return make_backend(profile="prod", **settings)

    return factory


def test_credentials_from_a_secret_and_from_a_file(
    production: BackendFactory, service_account: dict[str, str], tmp_path: Path
) -> None:
    from_secret = production(credentials=json.dumps(service_account))
    assert from_secret.project_id() == "demo-from-credentials"
    assert "demo-from-credentials" in from_secret.describe()
    path = tmp_path / "service-account.json"
    path.write_text(json.dumps(service_account))
    from_file = production(credentials_file=path, project_id="demo-chosen")
    assert from_file.project_id() == "demo-chosen"
    anyio.run(from_file.start)  # nothing left to resolve: no I/O


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"type": "service_account", "private_key": "SECRET-KEY-MATERIAL"', "not valid JSON"),
        ('["SECRET-KEY-MATERIAL"]', "not a service account"),
        ('{"type": "authorized_user", "refresh_token": "SECRET-KEY-MATERIAL"}', "service_account"),
        ('{"type": "service_account", "private_key": "SECRET-KEY-MATERIAL"}', "client_email"),
    ],
    ids=["bad-json", "not-an-object", "other-type", "missing-fields"],
)
def test_bad_credentials_are_refused_without_quoting_them(
    production: BackendFactory, content: str, message: str
) -> None:
    with pytest.raises(AuthConfigurationError, match=message) as caught:
        production(credentials=content)
    assert "SECRET-KEY-MATERIAL" not in str(caught.value)
    assert "auth.firebase.credentials" in str(caught.value)


def test_an_unreadable_private_key_is_refused_without_quoting_it(
    production: BackendFactory, service_account: dict[str, str]
) -> None:
    broken = {**service_account, "private_key": "-----BEGIN PRIVATE KEY-----\nSECRET\n"}
    with pytest.raises(AuthConfigurationError, match="private_key") as caught:
        production(credentials=json.dumps(broken))
    assert "SECRET" not in str(caught.value)


def test_a_missing_or_broken_credentials_file_is_refused(
    production: BackendFactory, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere.json"
    with pytest.raises(AuthConfigurationError, match="does not exist") as caught:
        production(credentials_file=missing)
    assert str(missing) in str(caught.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"private_key": "SECRET-KEY-MATERIAL",')
    with pytest.raises(AuthConfigurationError, match="not valid JSON") as caught:
        production(credentials_file=broken)
    assert "SECRET-KEY-MATERIAL" not in str(caught.value)


# -- through an app ------------------------------------------------------------------------------


@Controller("/shop")
class Shop:
    """Asks for the backend by type, so the app starts and stops it with its lifespan."""

    def __init__(self, auth: AbstractAuthBackend) -> None:
        self.auth = auth

    @get("/me")
    def me(self, user: CurrentUser) -> dict[str, Any]:
        return {"id": user.id, "email": user.email, "roles": list(user.roles)}

    @get("/admin", dependencies=[Depends(require_roles("admin"))])
    def admin(self) -> dict[str, bool]:
        return {"admin": True}


def client(tmp_path: Path, **firebase_settings: Any) -> TestClient:
    options = {"backend": "firebase", "firebase": {"project_id": PROJECT_ID, **firebase_settings}}
    settings = Settings(config_dir=tmp_path, profile="test", auth=options)
    return TestClient(create_app(settings, components=[Shop]))


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_an_app_with_the_firebase_backend(firebase: FirebaseEmulator, tmp_path: Path) -> None:
    firebase_admin = require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    with client(tmp_path) as http:
        backend = http.app.container.get(AbstractAuthBackend)  # type: ignore[attr-defined]
        created = backend.create_user("ada@example.com", PASSWORD)
        token = firebase.sign_in("ada@example.com", PASSWORD)
        response = http.get("/shop/me", headers=bearer(token))
        assert response.status_code == 200
        assert response.json() == {"id": created.id, "email": "ada@example.com", "roles": []}
        assert http.get("/shop/admin", headers=bearer(token)).status_code == 403
        backend.set_roles(created.id, ["admin"])
        fresh = firebase.sign_in("ada@example.com", PASSWORD)
        assert http.get("/shop/admin", headers=bearer(fresh)).json() == {"admin": True}
        missing = http.get("/shop/me")
        assert (missing.status_code, missing.json()["detail"]["reason"]) == (401, "missing_token")
        bad = http.get("/shop/me", headers=bearer("not-a-jwt"))
        assert (bad.status_code, bad.json()["detail"]["reason"]) == (401, "malformed_token")
        expired = forge(firebase, created.id, exp=int(time.time()) - 1)
        assert http.get("/shop/me", headers=bearer(expired)).json()["detail"]["reason"] == (
            "token_expired"
        )
    with pytest.raises(ValueError, match="does not exist"):
        firebase_admin.get_app(backend.app_name)  # the app's shutdown stopped the backend


def test_an_app_in_a_production_profile_refuses_the_emulator(
    firebase: FirebaseEmulator, tmp_path: Path
) -> None:
    options = {"backend": "firebase", "firebase": {"project_id": PROJECT_ID}}
    settings = Settings(config_dir=tmp_path, profile="prod", auth=options)
    with (
        pytest.raises(AuthConfigurationError, match="unsigned"),
        TestClient(create_app(settings, components=[Shop])),
    ):
        pass
