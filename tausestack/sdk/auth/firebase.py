"""The ``firebase`` backend: Firebase Authentication ID tokens and accounts, via firebase-admin.

firebase-admin verifies a token's RS256 signature with Google's published certificates, its
audience and issuer (the project) and its expiry, and, with ``check_revoked``, asks Firebase
whether the account was disabled or its tokens revoked (one call per verification). The backend
checks the token's shape, audience and issuer itself first, so that every refusal gets a stable
reason code without depending on firebase-admin's messages (which may quote the token).

Each backend has its own named firebase-admin app, so several TauseStack apps (or tests) in one
process never share one; :meth:`FirebaseBackend.stop` deletes it.

With ``FIREBASE_AUTH_EMULATOR_HOST`` set, firebase-admin talks to the Firebase Auth emulator and
accepts its tokens *without any signature*: a forged token for any user passes. The backend
refuses to start, and to verify, unless the profile is one of ``auth.firebase.emulator_profiles``.
firebase-admin checks no expiry in that mode either; this backend does, so that development
behaves like production.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
import jwt

from ._emails import checked_email
from .base import AbstractAuthBackend, User, user_from_claims
from .errors import (
    AuthConfigurationError,
    AuthenticationError,
    AuthError,
    InvalidUserDataError,
    UserExistsError,
    UserNotFoundError,
)

try:
    import firebase_admin  # type: ignore[import-untyped]
    from firebase_admin import auth as firebase_auth
    from firebase_admin import credentials as firebase_credentials
    from firebase_admin import exceptions as firebase_exceptions
except ImportError as error:  # pragma: no cover - exercised only without the extra
    _IMPORT_ERROR: ImportError | None = error
else:
    _IMPORT_ERROR = None

if TYPE_CHECKING:
    from ..settings import FirebaseSettings

__all__ = ["EMULATOR_HOST_VARIABLE", "FirebaseBackend"]

EMULATOR_HOST_VARIABLE = "FIREBASE_AUTH_EMULATOR_HOST"
ISSUER_PREFIX = "https://securetoken.google.com/"
#: The audience of custom tokens, which clients exchange for ID tokens; never an ID token's.
CUSTOM_TOKEN_AUDIENCE = (
    "https://identitytoolkit.googleapis.com/google.identity.identitytoolkit.v1.IdentityToolkit"
)
#: What update_user may change (roles go through set_roles, never a generic update).
UPDATABLE_FIELDS = ("email", "password", "display_name", "email_verified", "disabled")
MIN_PASSWORD_LENGTH = 6  # Firebase's own minimum
_T = TypeVar("_T")


def _emulator_host() -> str:
    return os.environ.get(EMULATOR_HOST_VARIABLE, "")


class FirebaseBackend(AbstractAuthBackend):
    """Verifies Firebase ID tokens and manages Firebase accounts.

    Example (``application.yaml``)::

        auth:
          backend: firebase
          firebase:
            credentials: ${secret:FIREBASE_CREDENTIALS}   # a service account's JSON
            check_revoked: true
    """

    def __init__(self, settings: FirebaseSettings, *, profile: str) -> None:
        if _IMPORT_ERROR is not None:
            raise AuthConfigurationError(
                f"auth.backend is 'firebase' but firebase-admin cannot be imported "
                f"({_IMPORT_ERROR}); install it with: pip install 'tausestack[firebase]'"
            )
        self.profile = profile
        self.emulator_profiles = tuple(settings.emulator_profiles)
        self.check_revoked = settings.check_revoked
        self.roles_claim = settings.roles_claim
        self.emulator_host = self._allowed_emulator_host()
        if self.emulator_host:
            # The emulator needs no credentials; firebase-admin substitutes its own fake ones.
            project_id = (
                settings.project_id
                or os.environ.get("GOOGLE_CLOUD_PROJECT")
                or os.environ.get("GCLOUD_PROJECT")
            )
            if not project_id:
                raise AuthConfigurationError(
                    f"{EMULATOR_HOST_VARIABLE} is set but auth.firebase.project_id is not: set "
                    "it to the project the emulator serves (a 'demo-…' id needs no real project)."
                )
            credential = None
        else:
            project_id = settings.project_id
            credential = _load_credential(settings)
        # Empty options, not None: firebase-admin would read FIREBASE_CONFIG from the environment.
        options = {"projectId": project_id} if project_id else {}
        if not project_id and isinstance(credential, firebase_credentials.Certificate):
            project_id = credential.project_id
        # With application default credentials, unknown until start() loads them (I/O).
        self._project_id: str | None = project_id
        self._credential = credential
        self._options = options
        #: This backend's own firebase-admin app (a unique name: apps in one process never meet),
        #: made on first use and deleted by stop(); a later use (the app started again) makes
        #: a new one, and a backend whose app never starts leaves none behind.
        self.app_name = f"tausestack-{uuid.uuid4().hex}"
        self._firebase_app: Any = None
        self._lock = threading.Lock()

    def _allowed_emulator_host(self) -> str:
        """The emulator's ``host:port`` if set, refused outside the emulator profiles."""
        host = _emulator_host()
        if not host:
            return ""
        if self.profile not in self.emulator_profiles:
            raise AuthConfigurationError(
                f"{EMULATOR_HOST_VARIABLE} is set but the profile is {self.profile!r}, not one "
                f"of auth.firebase.emulator_profiles {list(self.emulator_profiles)}. The Firebase "
                "Auth emulator's tokens are unsigned, so anyone could sign in as anyone: unset "
                f"{EMULATOR_HOST_VARIABLE} outside development and tests."
            )
        if "//" in host or ":" not in host:
            raise AuthConfigurationError(
                f"{EMULATOR_HOST_VARIABLE} must be host:port (like 127.0.0.1:9099), not {host!r}."
            )
        return host

    def describe(self) -> str:
        project = self._project_id or "(project from the application default credentials)"
        where = f" on the emulator at {self.emulator_host}" if self.emulator_host else ""
        return f"Firebase Authentication of project {project}{where}"

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Resolve the project now (it may read the application default credentials)."""
        await anyio.to_thread.run_sync(self.project_id)

    async def stop(self) -> None:
        """Delete this backend's firebase-admin app; calling it again does nothing, and the
        next use (the application started again) makes a new one."""
        with self._lock:
            app, self._firebase_app = self._firebase_app, None
        if app is not None:
            firebase_admin.delete_app(app)

    @property
    def app(self) -> Any:
        """The firebase-admin ``App``, for what this backend does not wrap (``app=backend.app``)."""
        return self._app()

    def _app(self) -> Any:
        app = self._firebase_app
        if app is None:
            with self._lock:
                if self._firebase_app is None:
                    self._firebase_app = firebase_admin.initialize_app(
                        self._credential, self._options, name=self.app_name
                    )
                app = self._firebase_app
        return app

    def project_id(self) -> str:
        """The Firebase project whose tokens are accepted."""
        if self._project_id is None:
            try:
                self._project_id = self._app().project_id
            except Exception as exc:  # google.auth's DefaultCredentialsError and kin
                raise AuthConfigurationError(f"{_NO_CREDENTIALS}: {exc}") from None
            if not self._project_id:
                raise AuthConfigurationError(
                    "The Firebase project is unknown: set auth.firebase.project_id (or "
                    "GOOGLE_CLOUD_PROJECT), or use a service account's credentials."
                )
        return self._project_id

    # -- tokens ----------------------------------------------------------------------------

    def verify_token(self, token: str) -> User:
        if _emulator_host() and self.profile not in self.emulator_profiles:
            self._allowed_emulator_host()  # raises: never accept unsigned tokens here
        claims = self._check_unverified(token)
        try:
            verified: dict[str, Any] = firebase_auth.verify_id_token(
                token, app=self._app(), check_revoked=self.check_revoked
            )
        except firebase_auth.UserDisabledError:
            # Raised only after the token verified, so its claims are the verified ones.
            return self._token_user(claims).model_copy(update={"disabled": True})
        except firebase_auth.UserNotFoundError:
            raise AuthenticationError(
                "user_not_found", "The token's account no longer exists."
            ) from None
        except firebase_auth.InvalidIdTokenError as exc:
            raise _refusal(exc) from None
        except firebase_auth.CertificateFetchError:
            raise AuthenticationError(
                "keys_unavailable", "Google's token certificates could not be fetched."
            ) from None
        except firebase_exceptions.FirebaseError as exc:
            raise AuthenticationError(
                "revocation_check_failed",
                f"Firebase could not say whether the token was revoked ({exc.code}).",
            ) from None
        return self._token_user(verified)

    def _check_unverified(self, token: str) -> dict[str, Any]:
        """The token's claims, unverified, after the checks that give precise reasons."""
        if not isinstance(token, str) or token.count(".") != 2:
            raise AuthenticationError("malformed_token", "The token is not a JWT.")
        try:
            header = jwt.get_unverified_header(token)
            claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise AuthenticationError("malformed_token", "The token is not a JWT.") from None
        emulated = bool(_emulator_host())
        if not emulated and header.get("alg") != "RS256":
            raise AuthenticationError(
                "algorithm_not_allowed",
                f"Token algorithm {header.get('alg')!r} is not accepted (Firebase signs RS256).",
            )
        if not emulated and not header.get("kid"):
            raise AuthenticationError("unknown_key", "The token names no signing key (kid).")
        project = self.project_id()
        if claims.get("aud") == CUSTOM_TOKEN_AUDIENCE:
            raise AuthenticationError(
                "invalid_audience",
                "This is a custom token: clients exchange it for an ID token first.",
            )
        if claims.get("aud") != project:
            raise AuthenticationError(
                "invalid_audience", f"The token is meant for another project than {project}."
            )
        if claims.get("iss") != ISSUER_PREFIX + project:
            raise AuthenticationError("invalid_issuer", "The token has another issuer.")
        for name in ("sub", "iat", "exp"):
            if not claims.get(name):
                raise AuthenticationError("missing_claim", f"The token lacks the {name!r} claim.")
        if not isinstance(claims["sub"], str) or len(claims["sub"]) > 128:
            raise AuthenticationError("invalid_claim", "The token's 'sub' is not a user id.")
        if emulated and not (isinstance(claims["exp"], int) and claims["exp"] > time.time()):
            raise AuthenticationError("token_expired", "The token has expired.")
        return claims

    def _token_user(self, claims: dict[str, Any]) -> User:
        return user_from_claims(claims, self.roles_claim)

    # -- accounts --------------------------------------------------------------------------

    def get_user(self, user_id: str) -> User | None:
        uid = _checked_uid(user_id)
        try:
            record = self._call("look up a user", lambda: self._record(uid), user_id=uid)
        except UserNotFoundError:
            return None
        return self._record_user(record)

    def get_user_by_email(self, email: str) -> User | None:
        address = checked_email(email)
        try:
            record = self._call(
                "look up a user",
                lambda: firebase_auth.get_user_by_email(address, app=self._app()),
            )
        except UserNotFoundError:
            return None
        return self._record_user(record)

    def create_user(
        self,
        email: str,
        password: str,
        *,
        display_name: str | None = None,
        email_verified: bool = False,
        disabled: bool = False,
        roles: Sequence[str] | None = None,
        **unknown: Any,
    ) -> User:
        """Create an account; ``roles`` become its ``roles_claim`` custom claim.

        Raises:
            UserExistsError: an account has this email address.
            InvalidUserDataError: a field is not acceptable (the message says which).
        """
        if unknown:
            raise InvalidUserDataError(
                f"create_user() got unknown field(s) {', '.join(sorted(unknown))}; it takes "
                "email, password, display_name, email_verified, disabled and roles."
            )
        fields = _checked_fields(
            email=email,
            password=password,
            display_name=display_name,
            email_verified=email_verified,
            disabled=disabled,
        )
        checked_roles = None if roles is None else _checked_roles(roles)
        record = self._call(
            "create a user",
            lambda: firebase_auth.create_user(app=self._app(), **fields),
            email=fields["email"],
        )
        if checked_roles is None:
            return self._record_user(record)
        return self.set_roles(record.uid, checked_roles)

    def update_user(self, user_id: str, **fields: Any) -> User:
        """Change some of ``email``, ``password``, ``display_name`` (None removes it),
        ``email_verified`` and ``disabled``.

        Raises:
            UserNotFoundError: no account has this id.
            UserExistsError: another account has the new email address.
            InvalidUserDataError: an unknown field or an unacceptable value.
        """
        uid = _checked_uid(user_id)
        unknown = sorted(set(fields) - set(UPDATABLE_FIELDS))
        if unknown:
            raise InvalidUserDataError(
                f"update_user() cannot change {', '.join(unknown)}; it changes "
                f"{', '.join(UPDATABLE_FIELDS)} (and set_roles() the roles)."
            )
        changes: dict[str, Any] = _checked_fields(**fields)
        if "display_name" in fields and fields["display_name"] is None:
            changes["display_name"] = firebase_auth.DELETE_ATTRIBUTE
        if not changes:
            return self._record_user(
                self._call("update a user", lambda: self._record(uid), user_id=uid)
            )
        record = self._call(
            "update a user",
            lambda: firebase_auth.update_user(uid, app=self._app(), **changes),
            user_id=uid,
            email=changes.get("email", ""),
        )
        return self._record_user(record)

    def delete_user(self, user_id: str) -> None:
        """Delete an account; UserNotFoundError when there is none."""
        uid = _checked_uid(user_id)
        self._call(
            "delete a user", lambda: firebase_auth.delete_user(uid, app=self._app()), user_id=uid
        )

    def set_roles(self, user_id: str, roles: Sequence[str]) -> User:
        """Replace the user's roles (the ``roles_claim`` custom claim), keeping other claims.

        Tokens carry the new roles once the client gets a fresh ID token (at most an hour).
        """
        uid = _checked_uid(user_id)
        checked = _checked_roles(roles)

        def write() -> Any:
            # Read-modify-write: Firebase has no per-claim update; the last writer wins.
            claims = dict(self._record(uid).custom_claims or {})
            claims[self.roles_claim] = checked
            firebase_auth.set_custom_user_claims(uid, claims, app=self._app())
            return self._record(uid)

        return self._record_user(self._call("set roles", write, user_id=uid))

    def revoke_tokens(self, user_id: str) -> None:
        """Revoke the user's refresh tokens; their ID tokens then fail with ``check_revoked``.

        Firebase compares whole seconds: a token issued in the same second stays valid.
        """
        uid = _checked_uid(user_id)
        self._call(
            "revoke tokens",
            lambda: firebase_auth.revoke_refresh_tokens(uid, app=self._app()),
            user_id=uid,
        )

    def _record(self, uid: str) -> Any:
        return firebase_auth.get_user(uid, app=self._app())

    def _record_user(self, record: Any) -> User:
        claims: dict[str, Any] = dict(record.custom_claims or {})
        roles = claims.get(self.roles_claim, [])
        if not _is_role_list(roles):
            raise InvalidUserDataError(
                f"User {record.uid}'s {self.roles_claim!r} custom claim is not a list of "
                "roles; replace it with set_roles()."
            )
        return User(
            id=record.uid,
            email=record.email,
            email_verified=bool(record.email_verified),
            display_name=record.display_name,
            disabled=bool(record.disabled),
            roles=tuple(roles),
            claims=claims,
        )

    def _call(
        self, operation: str, call: Callable[[], _T], *, user_id: str = "", email: str = ""
    ) -> _T:
        """Run a firebase-admin call, turning its errors into this package's."""
        try:
            return call()
        except firebase_auth.UserNotFoundError:
            raise UserNotFoundError(
                f"Cannot {operation}: no Firebase user has the id {user_id!r}."
            ) from None
        except firebase_auth.EmailAlreadyExistsError:
            raise UserExistsError(
                f"Cannot {operation}: an account with the email address {email} exists already."
            ) from None
        except (ValueError, firebase_exceptions.InvalidArgumentError) as exc:
            message = f"Cannot {operation}: Firebase refused it ({exc})."
            raise InvalidUserDataError(message) from None
        except firebase_exceptions.FirebaseError as exc:
            raise AuthError(f"Cannot {operation}: Firebase answered {exc.code}: {exc}") from exc


_NO_CREDENTIALS = (
    "No Firebase credentials: set auth.firebase.credentials (a service account's JSON, e.g. "
    "${secret:FIREBASE_CREDENTIALS}) or auth.firebase.credentials_file, or run where Google's "
    "application default credentials exist (GOOGLE_APPLICATION_CREDENTIALS, gcloud, GCP)"
)


def _load_credential(settings: FirebaseSettings) -> Any:
    """The credential the settings name: secret JSON, then a file, then application default."""
    if settings.credentials is not None:
        return _certificate(settings.credentials.get_secret_value(), "auth.firebase.credentials")
    if settings.credentials_file is not None:
        path = Path(settings.credentials_file).expanduser()
        where = f"auth.firebase.credentials_file ({path})"
        if not path.is_file():
            raise AuthConfigurationError(f"{where} does not exist or is not a file.")
        try:
            content = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise AuthConfigurationError(f"{where} cannot be read: {type(exc).__name__}.") from None
        return _certificate(content, where)
    return firebase_credentials.ApplicationDefault()


def _certificate(content: str, where: str) -> Any:
    """A service-account credential; messages never quote the content (it holds a key)."""
    try:
        data = json.loads(content)
    except ValueError:
        raise AuthConfigurationError(
            f"{where} is not valid JSON: it must be a service account's key file, as downloaded "
            "from the Firebase console (Project settings, Service accounts)."
        ) from None
    if not isinstance(data, dict) or data.get("type") != "service_account":
        raise AuthConfigurationError(
            f'{where} is not a service account\'s key: its JSON needs "type": '
            '"service_account" (download one from Project settings, Service accounts).'
        )
    missing = [
        name
        for name in ("project_id", "private_key", "client_email", "token_uri")
        if not isinstance(data.get(name), str) or not data[name]
    ]
    if missing:
        raise AuthConfigurationError(f"{where} lacks the field(s): {', '.join(missing)}.")
    try:
        return firebase_credentials.Certificate(data)
    except ValueError:
        raise AuthConfigurationError(
            f"{where}: the private_key of the service account cannot be read."
        ) from None


def _is_role_list(roles: Any) -> bool:
    return isinstance(roles, list) and all(isinstance(role, str) for role in roles)


def _refusal(error: Exception) -> AuthenticationError:
    """The reason for an InvalidIdTokenError (firebase-admin's message is not passed on)."""
    if isinstance(error, firebase_auth.ExpiredIdTokenError):
        return AuthenticationError("token_expired", "The token has expired.")
    if isinstance(error, firebase_auth.RevokedIdTokenError):
        return AuthenticationError("token_revoked", "The token has been revoked: sign in again.")
    cause = str(getattr(error, "cause", "") or "")
    if "Certificate for key id" in cause:
        return AuthenticationError("unknown_key", "The token is signed with an unknown key.")
    if "signature" in cause:
        return AuthenticationError("invalid_signature", "The token's signature is not valid.")
    if "too early" in cause:
        return AuthenticationError("token_not_yet_valid", "The token is not valid yet.")
    return AuthenticationError("invalid_token", "The token is not a valid Firebase ID token.")


def _checked_uid(user_id: Any) -> str:
    if not isinstance(user_id, str) or not user_id or len(user_id) > 128:
        raise InvalidUserDataError("A Firebase user id is a string of 1 to 128 characters.")
    return user_id


def _checked_roles(roles: Any) -> list[str]:
    if isinstance(roles, str) or not isinstance(roles, Sequence):
        raise InvalidUserDataError("Roles are a list of role names, like ['admin'].")
    if not all(isinstance(role, str) and role for role in roles):
        raise InvalidUserDataError("Every role is a non-empty string.")
    return list(dict.fromkeys(roles))


def _checked_fields(**fields: Any) -> dict[str, Any]:
    """The account fields given, validated (a None display_name is left to the caller)."""
    checked: dict[str, Any] = {}
    for name, value in fields.items():
        if name == "email":
            checked[name] = checked_email(value)
        elif name == "password":
            if not isinstance(value, str) or len(value) < MIN_PASSWORD_LENGTH:
                raise InvalidUserDataError(
                    f"A password is a string of at least {MIN_PASSWORD_LENGTH} characters."
                )
            checked[name] = value
        elif name == "display_name":
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidUserDataError("A display name is a non-empty string (or None).")
            if value is not None:
                checked[name] = value
        elif not isinstance(value, bool):
            raise InvalidUserDataError(f"{name} is True or False, not {value!r}.")
        else:
            checked[name] = value
    return checked
