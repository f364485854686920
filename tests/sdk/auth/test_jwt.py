"""The ``jwt`` backend beyond the shared contract: keys, rotation of refresh tokens, reuse
detection, revocation, cookie sessions' CSRF token, and configuration errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.utils import base64url_encode
from sqlmodel import SQLModel

from tausestack import Controller, Settings, create_app, get
from tausestack.contrib.auth.models import AuthAccount, AuthToken
from tausestack.errors import MissingProviderError
from tausestack.sdk.auth import (
    AbstractAuthBackend,
    AuthConfigurationError,
    AuthenticationError,
    PermissionDeniedError,
)
from tausestack.sdk.auth._providers import auth_backend
from tausestack.sdk.auth.errors import InvalidUserDataError
from tausestack.sdk.auth.jwt_backend import JwtBackend
from tausestack.sdk.database import Database
from tausestack.testing import TestClient

SECRET = "a-test-secret-that-is-at-least-32-bytes"
PASSWORD = "correct horse battery"


def make_backend(tmp_path: Path, **jwt_settings: Any) -> JwtBackend:
    options = {"secret": SECRET, **jwt_settings}
    if "private_key" in jwt_settings:
        options.pop("secret")
    settings = Settings(
        config_dir=tmp_path,
        database={"url": f"sqlite:///{tmp_path / 'auth.db'}"},
        auth={"backend": "jwt", "jwt": options},
    )
    backend = auth_backend(settings)
    assert isinstance(backend, JwtBackend)
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(backend.database.engine, tables=tables)  # type: ignore[arg-type]
    return backend


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[JwtBackend]:
    made = make_backend(tmp_path)
    yield made
    made.database.engine.dispose()


def pem(key: Any) -> str:
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return data.decode()


def hs256(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A token signed by hand (PyJWT refuses to make the odd ones these tests need)."""
    signing_input = b".".join(
        base64url_encode(json.dumps(part).encode()) for part in (header, claims)
    )
    signature = base64url_encode(hmac.new(key, signing_input, hashlib.sha256).digest())
    return (signing_input + b"." + signature).decode()


# -- tokens -----------------------------------------------------------------------------------


def test_access_tokens_carry_the_account_and_are_short_lived(backend: JwtBackend) -> None:
    user = backend.create_user("ana@example.com", PASSWORD, display_name="Ana", roles=["b", "a"])
    pair = backend.login("ANA@example.com ", PASSWORD)
    assert pair.token_type == "bearer"
    assert pair.expires_in == 900
    assert pair.user_id == user.id
    claims = jwt.decode(pair.access_token, SECRET, algorithms=["HS256"], audience="tausestack")
    assert claims["sub"] == user.id
    assert claims["roles"] == ["a", "b"]
    assert claims["name"] == "Ana"
    assert claims["exp"] - claims["iat"] == pytest.approx(900, abs=1)
    assert backend.verify_token(pair.access_token).roles == ("a", "b")


def test_wrong_credentials_get_one_answer(backend: JwtBackend) -> None:
    backend.create_user("ben@example.com", PASSWORD)
    reasons = set()
    for email, password in [
        ("ben@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ]:
        with pytest.raises(AuthenticationError) as refusal:
            backend.login(email, password)
        reasons.add((refusal.value.reason, str(refusal.value)))
    assert reasons == {("invalid_credentials", "Wrong email or password.")}


def test_a_disabled_account_cannot_log_in_or_refresh(backend: JwtBackend) -> None:
    user = backend.create_user("cy@example.com", PASSWORD)
    pair = backend.login("cy@example.com", PASSWORD)
    backend.update_user(user.id, disabled=True)
    with pytest.raises(PermissionDeniedError):
        backend.login("cy@example.com", PASSWORD)
    with pytest.raises(AuthenticationError, match="revoked"):
        backend.refresh(pair.refresh_token)


def test_a_refresh_token_is_used_once_and_reuse_revokes_the_login(
    backend: JwtBackend, caplog: pytest.LogCaptureFixture
) -> None:
    backend.create_user("dee@example.com", PASSWORD)
    first = backend.login("dee@example.com", PASSWORD)
    other_login = backend.login("dee@example.com", PASSWORD)
    second = backend.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert backend.verify_token(second.access_token).email == "dee@example.com"

    with (
        caplog.at_level(logging.INFO, logger="tausestack.audit"),
        pytest.raises(AuthenticationError) as reuse,
    ):
        backend.refresh(first.refresh_token)  # a thief replays the old one
    assert reuse.value.reason == "token_reused"
    assert [r.audit["reason"] for r in caplog.records] == ["refresh_token_reused"]  # type: ignore[attr-defined]
    with pytest.raises(AuthenticationError) as revoked:
        backend.refresh(second.refresh_token)  # the whole family is gone…
    assert revoked.value.reason == "token_revoked"
    assert backend.refresh(other_login.refresh_token).access_token  # …not the other login


@pytest.mark.parametrize("token", ["", "x", "a.b", "0" * 32 + ".nope", None, 42])
def test_invalid_refresh_tokens_are_refused(backend: JwtBackend, token: Any) -> None:
    with pytest.raises(AuthenticationError) as refusal:
        backend.refresh(token)
    assert refusal.value.reason == "invalid_token"


def test_an_access_token_is_not_a_refresh_token_and_back(backend: JwtBackend) -> None:
    backend.create_user("eve@example.com", PASSWORD)
    pair = backend.login("eve@example.com", PASSWORD)
    with pytest.raises(AuthenticationError):
        backend.refresh(pair.access_token)
    with pytest.raises(AuthenticationError):
        backend.verify_token(pair.refresh_token)
    session = backend.open_session("eve@example.com", PASSWORD, ttl=60)
    with pytest.raises(AuthenticationError):
        backend.refresh(session.token)


def test_logout_revokes_the_login_and_is_idempotent(backend: JwtBackend) -> None:
    backend.create_user("fay@example.com", PASSWORD)
    pair = backend.login("fay@example.com", PASSWORD)
    backend.logout(pair.refresh_token)
    backend.logout(pair.refresh_token)
    backend.logout("not-a-token")
    with pytest.raises(AuthenticationError, match="revoked"):
        backend.refresh(pair.refresh_token)


def test_check_account_makes_revocation_and_role_changes_immediate(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, check_account=True)
    user = backend.create_user("gus@example.com", PASSWORD)
    token = backend.login("gus@example.com", PASSWORD).access_token
    backend.set_roles(user.id, ["admin"])
    assert backend.verify_token(token).roles == ("admin",)
    time.sleep(0.01)
    backend.revoke_tokens(user.id)
    with pytest.raises(AuthenticationError) as refusal:
        backend.verify_token(token)
    assert refusal.value.reason == "token_revoked"
    fresh = backend.login("gus@example.com", PASSWORD).access_token
    assert backend.verify_token(fresh).id == user.id
    backend.delete_user(user.id)
    with pytest.raises(AuthenticationError) as gone:
        backend.verify_token(fresh)
    assert gone.value.reason == "unknown_user"


def test_without_check_account_tokens_live_until_they_expire(backend: JwtBackend) -> None:
    user = backend.create_user("hal@example.com", PASSWORD)
    token = backend.login("hal@example.com", PASSWORD).access_token
    backend.revoke_tokens(user.id)
    assert backend.verify_token(token).id == user.id  # documented: short access_ttl


def test_the_verified_cache_still_honours_expiry(tmp_path: Path) -> None:
    backend = make_backend(tmp_path, access_ttl=10)
    backend.create_user("ida@example.com", PASSWORD)
    account = AuthAccount(
        id="x" * 32, email="i@example.com", password_hash="", created_at=0, updated_at=0
    )
    token = backend.access_token(account, now=time.time() - 8.5)  # expires in 0.5 to 1.5 s
    assert backend.verify_token(token).id == "x" * 32  # cached now
    time.sleep(1.6)
    with pytest.raises(AuthenticationError) as refusal:
        backend.verify_token(token)
    assert refusal.value.reason == "token_expired"


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_the_token_type_and_algorithm_are_checked(backend: JwtBackend) -> None:
    backend.create_user("jo@example.com", PASSWORD)
    claims = jwt.decode(
        backend.login("jo@example.com", PASSWORD).access_token,
        SECRET,
        algorithms=["HS256"],
        audience="tausestack",
    )
    kid = jwt.get_unverified_header(backend.login("jo@example.com", PASSWORD).access_token)["kid"]
    not_access = jwt.encode(
        {**claims, "typ": "refresh"}, SECRET, algorithm="HS256", headers={"kid": kid}
    )
    with pytest.raises(AuthenticationError) as wrong_type:
        backend.verify_token(not_access)
    assert wrong_type.value.reason == "wrong_token_type"
    hs512 = jwt.encode(claims, SECRET, algorithm="HS512", headers={"kid": kid})
    with pytest.raises(AuthenticationError) as wrong_alg:
        backend.verify_token(hs512)
    assert wrong_alg.value.reason == "algorithm_not_allowed"
    other_audience = jwt.encode(
        {**claims, "aud": "other"}, SECRET, algorithm="HS256", headers={"kid": kid}
    )
    with pytest.raises(AuthenticationError) as wrong_aud:
        backend.verify_token(other_audience)
    assert wrong_aud.value.reason == "invalid_audience"


# -- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("algorithm", "key"),
    [
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("EdDSA", ed25519.Ed25519PrivateKey.generate()),
    ],
)
def test_asymmetric_keys_sign_and_verify(tmp_path: Path, algorithm: str, key: Any) -> None:
    backend = make_backend(tmp_path, algorithm=algorithm, private_key=pem(key))
    backend.create_user("kim@example.com", PASSWORD)
    token = backend.login("kim@example.com", PASSWORD).access_token
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    public = key.public_key()
    assert jwt.decode(token, public, algorithms=[algorithm], audience="tausestack")["sub"]
    assert backend.verify_token(token).email == "kim@example.com"


def test_rs256_public_key_used_as_an_hmac_secret_is_refused(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    backend = make_backend(tmp_path, algorithm="RS256", private_key=pem(key))
    backend.create_user("lee@example.com", PASSWORD)
    token = backend.login("lee@example.com", PASSWORD).access_token
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    kid = jwt.get_unverified_header(token)["kid"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = hs256({"alg": "HS256", "kid": kid, "typ": "JWT"}, claims, public_pem)
    with pytest.raises(AuthenticationError) as refusal:
        backend.verify_token(forged)
    assert refusal.value.reason == "algorithm_not_allowed"


def test_previous_keys_verify_old_tokens_after_a_rotation(tmp_path: Path) -> None:
    for name in ("old", "new", "later"):
        (tmp_path / name).mkdir()
    old = make_backend(tmp_path / "old")
    old.create_user("max@example.com", PASSWORD)
    token = old.login("max@example.com", PASSWORD).access_token
    new_secret = "the-next-secret-that-is-also-32-bytes-long"
    rotated = make_backend(tmp_path / "new", secret=new_secret, previous_keys=[SECRET])
    assert rotated.verify_token(token).email == "max@example.com"
    forgotten = make_backend(tmp_path / "later", secret=new_secret)
    with pytest.raises(AuthenticationError) as refusal:
        forgotten.verify_token(token)
    assert refusal.value.reason == "unknown_key"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"secret": None}, r"auth.jwt.secret is not set.*\$\{secret:JWT_SECRET\}"),
        (
            {"secret": "too-short"},
            r"auth.jwt.secret is 9 bytes; .* HMAC keys must be at least 32 bytes",
        ),
        ({"algorithm": "RS256", "secret": None}, r"auth.jwt.private_key is not set"),
        ({"algorithm": "RS256", "private_key": "-----BEGIN nonsense"}, r"not an unencrypted PEM"),
        (
            {"algorithm": "RS256", "private_key": "ec"},
            r"auth.jwt.private_key is an EC key, which cannot sign RS256",
        ),
        ({"previous_keys": ["short"]}, r"auth.jwt.previous_keys\[0\] is 5 bytes"),
        ({"algorithm": "HS512"}, r"auth.jwt.secret is 39 bytes; .* at least 64 bytes"),
        (
            {"algorithm": "ES256", "private_key": "p384"},
            r"auth.jwt.private_key is on the curve secp384r1; ES256 needs P-256",
        ),
        (
            {"algorithm": "RS256", "private_key": "rsa1024"},
            r"auth.jwt.private_key is a 1024-bit RSA key; use at least 2048 bits",
        ),
        (
            {"algorithm": "ES256", "private_key": "p256", "previous_keys": ["rsa2048"]},
            r"auth.jwt.previous_keys\[0\] is an RSA key, which cannot sign ES256",
        ),
    ],
)
def test_configuration_errors_name_the_setting(
    tmp_path: Path, options: dict[str, Any], message: str
) -> None:
    keys = {
        "ec": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
        "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
        "rsa1024": lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
        "rsa2048": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    if options.get("private_key") in keys:
        options = {**options, "private_key": pem(keys[options["private_key"]]())}
    options["previous_keys"] = [
        pem(keys[name]()) if name in keys else name for name in options.get("previous_keys", [])
    ]
    settings = Settings(
        config_dir=tmp_path,
        database={"url": f"sqlite:///{tmp_path / 'auth.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET, **options}},
    )
    with pytest.raises(AuthConfigurationError, match=message) as error:
        auth_backend(settings)
    assert SECRET not in str(error.value)


# -- passwords and data -----------------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(backend: JwtBackend) -> None:
    user = backend.create_user("ned@example.com", PASSWORD)
    with backend.database.new_session() as session:
        account = session.get(AuthAccount, user.id)
        assert account is not None
        assert account.password_hash.startswith("$argon2id$")
        assert PASSWORD not in account.password_hash
    assert "password" not in user.model_dump_json()


def test_changing_the_password_revokes_other_logins(backend: JwtBackend) -> None:
    user = backend.create_user("ola@example.com", PASSWORD)
    pair = backend.login("ola@example.com", PASSWORD)
    with pytest.raises(AuthenticationError):
        backend.change_password(user.id, "wrong password", "a new password")
    backend.change_password(user.id, PASSWORD, "a new password")
    with pytest.raises(AuthenticationError):
        backend.login("ola@example.com", PASSWORD)
    assert backend.login("ola@example.com", "a new password").access_token
    with pytest.raises(AuthenticationError, match="revoked"):
        backend.refresh(pair.refresh_token)


def test_custom_claims_cannot_override_reserved_ones(backend: JwtBackend) -> None:
    user = backend.create_user("pia@example.com", PASSWORD, claims={"tenant": "acme"})
    with pytest.raises(InvalidUserDataError, match="roles, sub"):
        backend.update_user(user.id, claims={"sub": "someone-else", "roles": ["admin"]})
    token = backend.login("pia@example.com", PASSWORD).access_token
    verified = backend.verify_token(token)
    assert verified.claims["tenant"] == "acme"
    assert (verified.id, verified.roles) == (user.id, ())


# -- cookie sessions --------------------------------------------------------------------------


def test_sessions_and_their_csrf_token(backend: JwtBackend) -> None:
    user = backend.create_user("quinn@example.com", PASSWORD)
    session = backend.open_session("quinn@example.com", PASSWORD, ttl=60)
    assert backend.session_user(session.token).id == user.id
    csrf = backend.csrf_token(session.token)
    assert csrf == backend.csrf_token(session.token)
    other = backend.open_session("quinn@example.com", PASSWORD, ttl=60)
    assert backend.csrf_token(other.token) != csrf
    backend.logout(session.token)
    with pytest.raises(AuthenticationError):
        backend.session_user(session.token)
    assert backend.session_user(other.token).id == user.id


def test_sessions_expire(backend: JwtBackend) -> None:
    backend.create_user("ray@example.com", PASSWORD)
    session = backend.open_session("ray@example.com", PASSWORD, ttl=1)
    time.sleep(1.1)
    with pytest.raises(AuthenticationError) as refusal:
        backend.session_user(session.token)
    assert refusal.value.reason == "token_expired"


def backend_on(request: pytest.FixtureRequest, tmp_path: Path, database: str) -> JwtBackend:
    """A backend on SQLite, or on a new database of the test PostgreSQL server."""
    if database == "sqlite":
        return make_backend(tmp_path)
    settings = Settings(
        config_dir=tmp_path,
        database={"url": request.getfixturevalue("postgres_url")},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
    )
    backend = auth_backend(settings)
    assert isinstance(backend, JwtBackend)
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(backend.database.engine, tables=tables)  # type: ignore[arg-type]
    return backend


# -- concurrency ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_concurrent_refreshes_of_one_token_let_exactly_one_through(
    request: pytest.FixtureRequest, tmp_path: Path, database: str
) -> None:
    backend = backend_on(request, tmp_path, database)
    backend.create_user("sam@example.com", PASSWORD)
    token = backend.login("sam@example.com", PASSWORD).refresh_token
    barrier = threading.Barrier(8)

    def attempt() -> str:
        barrier.wait()
        try:
            backend.refresh(token)
        except AuthenticationError as exc:
            return exc.reason
        return "ok"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(8)))
    backend.database.engine.dispose()
    assert outcomes.count("ok") == 1
    assert set(outcomes) <= {"ok", "token_reused", "token_revoked"}
    assert outcomes.count("token_reused") >= 1


# -- wiring -----------------------------------------------------------------------------------


@Controller("/inbox")
class Inbox:
    @get("/", auth_required=True)
    def index(self) -> dict[str, bool]:
        return {"ok": True}


def test_the_jwt_backend_brings_the_database_and_shares_it(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        database={"url": f"sqlite:///{tmp_path / 'auth.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET}},
    )
    app = create_app(settings, components=[Inbox])
    database = app.container.get(Database)  # registered although nothing else asked for it
    backend = app.container.get(AbstractAuthBackend)
    assert isinstance(backend, JwtBackend)
    assert backend.database is database
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(database.engine, tables=tables)  # type: ignore[arg-type]
    backend.create_user("tia@example.com", PASSWORD)
    with TestClient(app) as client:
        assert client.get("/inbox/").status_code == 401
        token = backend.login("tia@example.com", PASSWORD).access_token
        answer = client.get("/inbox/", headers={"Authorization": f"Bearer {token}"})
        assert answer.json() == {"ok": True}


def test_an_oidc_app_does_not_get_a_database(tmp_path: Path) -> None:
    settings = Settings(
        config_dir=tmp_path,
        auth={"backend": "oidc", "oidc": {"issuer": "https://id.example.com", "audience": "x"}},
    )
    app = create_app(settings, components=[Inbox])
    with pytest.raises(MissingProviderError):
        app.container.get(Database)


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_revocation_during_a_refresh_also_revokes_the_new_token(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The refresh holds the account while it makes the new token, so the revocation waits
    and then sees it (PostgreSQL used to miss it: its statement snapshot predated the row)."""
    backend = backend_on(request, tmp_path, database)
    user = backend.create_user("uma@example.com", PASSWORD)
    token = backend.login("uma@example.com", PASSWORD).refresh_token
    issue = backend._issue
    issuing = threading.Event()

    def slow_issue(*args: Any, **kwargs: Any) -> Any:
        issuing.set()
        time.sleep(0.5)  # the revocation arrives while the new token is being made
        return issue(*args, **kwargs)

    monkeypatch.setattr(backend, "_issue", slow_issue)
    with ThreadPoolExecutor(1) as pool:
        refreshed = pool.submit(backend.refresh, token)
        assert issuing.wait(5)
        backend.revoke_tokens(user.id)
        pair = refreshed.result()
    monkeypatch.setattr(backend, "_issue", issue)
    with pytest.raises(AuthenticationError) as refusal:
        backend.refresh(pair.refresh_token)
    backend.database.engine.dispose()
    assert refusal.value.reason == "token_revoked"


def test_tokens_stay_out_of_reprs(backend: JwtBackend) -> None:
    backend.create_user("val@example.com", PASSWORD)
    pair = backend.login("val@example.com", PASSWORD)
    session = backend.open_session("val@example.com", PASSWORD, ttl=60)
    text = repr(pair) + repr(session)
    for secret in (pair.access_token, pair.refresh_token, session.token):
        assert secret not in text
    assert pair.user_id in text


def test_a_kid_that_is_not_a_string_is_a_401_not_a_crash(backend: JwtBackend) -> None:
    backend.create_user("wes@example.com", PASSWORD)
    token = backend.login("wes@example.com", PASSWORD).access_token
    claims = jwt.decode(token, options={"verify_signature": False})
    odd = hs256({"alg": "HS256", "kid": [1], "typ": "JWT"}, claims, SECRET.encode())
    with pytest.raises(AuthenticationError) as refusal:
        backend.verify_token(odd)
    assert refusal.value.reason == "unknown_key"


@pytest.mark.parametrize("check_account", [False, True])
def test_signed_tokens_with_claims_of_the_wrong_type_are_401(
    tmp_path: Path, check_account: bool
) -> None:
    """A correctly signed token whose claims have the wrong types is refused (401
    invalid_token), never a 500."""
    settings = Settings(
        config_dir=tmp_path,
        database={"url": f"sqlite:///{tmp_path / 'auth.db'}"},
        auth={"backend": "jwt", "jwt": {"secret": SECRET, "check_account": check_account}},
    )
    app = create_app(settings, components=[Inbox])
    backend = app.container.get(AbstractAuthBackend)
    assert isinstance(backend, JwtBackend)
    tables = [AuthAccount.__table__, AuthToken.__table__]
    SQLModel.metadata.create_all(backend.database.engine, tables=tables)  # type: ignore[arg-type]
    backend.create_user("val@example.com", PASSWORD)
    good = backend.login("val@example.com", PASSWORD).access_token
    header = jwt.get_unverified_header(good)
    claims = jwt.decode(good, SECRET, algorithms=["HS256"], audience="tausestack")
    wrong = [
        {"exp": str(claims["exp"])},
        {"exp": [claims["exp"]]},
        {"exp": {"at": claims["exp"]}},
        {"iat": str(claims["iat"])},
        {"iat": None},
        {"nbf": str(claims["iat"])},
        {"nbf": True},
        {"exp": True},
        {"exp": 10**400},
        {"exp": -(10**400)},
        {"iat": 10**400},
        {"nbf": 1e300},
        {"sub": 42},
        {"sub": ""},
    ]
    if not check_account:  # else the user comes from the account's row, not these claims
        wrong += [
            {"roles": "admin"},
            {"roles": [1]},
            {"email": 42},
            {"name": ["Val"]},
            {"email_verified": "yes"},
        ]
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/inbox/", headers={"Authorization": f"Bearer {good}"})
        assert answer.json() == {"ok": True}
        for change in wrong:
            token = hs256(header, {**claims, **change}, SECRET.encode())
            answer = client.get("/inbox/", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (change, answer.text)
            assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"], change
            assert answer.json()["detail"]["reason"] in {
                "invalid_claim",
                "missing_claim",
                "invalid_token",
            }, change
        # A float exp is a number: still accepted.
        token = hs256(header, {**claims, "exp": claims["exp"] + 0.5}, SECRET.encode())
        answer = client.get("/inbox/", headers={"Authorization": f"Bearer {token}"})
        assert answer.json() == {"ok": True}
    backend.database.engine.dispose()
