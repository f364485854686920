"""Settings sections of the SDK modules (pure pydantic: loading them imports no backend library).

They live here, outside the modules themselves, so ``tausestack.settings`` can declare them
without importing SQLAlchemy, boto3 or redis. Their reprs, ``str`` and ``model_dump_json`` mask
secrets (``RedactedReprModel``): URL passwords, secret-named fields; ``model_dump()`` keeps the
values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import ConfigDict, Field, SecretStr, field_validator, model_validator

from .._redaction import RedactedReprModel

DEFAULT_URL = "sqlite:///app.db"
#: The longest time-to-live the caches take, in seconds.
TEN_YEARS = 315_360_000
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
#: A host name (notify.message_id_domain): dot-separated labels, 253 characters at most.
_HOST_NAME = re.compile(rf"(?=.{{1,253}}\Z){_LABEL}(?:\.{_LABEL})*")


class DatabaseSettings(RedactedReprModel):
    """Where the database is and how connections are pooled.

    ``url`` is a SQLAlchemy URL; a relative SQLite path is relative to the config folder (the
    project). ``async_url`` defaults to the same database through the async driver of the same
    family (``sqlite+aiosqlite``, ``postgresql+psycopg``).
    """

    model_config = ConfigDict(extra="forbid")

    url: str = DEFAULT_URL
    async_url: str | None = None
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout: float = Field(default=30.0, gt=0)
    pool_recycle: int = Field(default=1800, ge=-1)
    connect_timeout: float = Field(default=10.0, gt=0)
    #: Test each pooled connection before use (one round trip per checkout) so a restarted
    #: server does not fail the next request; never done for SQLite, which has no server.
    pool_pre_ping: bool = True
    echo: bool = False
    #: Connect once at application startup, so a wrong URL fails at startup, not on a request.
    check_on_startup: bool = True
    #: Seconds the schema check (startup, ``tausestack check``) may take: a table locked by a
    #: running migration makes it report a timeout instead of holding up the start.
    check_timeout: float = Field(default=5.0, gt=0)
    #: ``sqlalchemy`` or the dotted path of a class implementing AbstractDatabaseBackend.
    backend: str = "sqlalchemy"

    def url_driver_is_async(self) -> bool:
        """Whether ``url`` names an async driver (``postgresql+asyncpg://…``)."""
        driver = self.url.partition("://")[0].partition("+")[2]
        return driver in {"aiosqlite", "asyncpg", "aiomysql", "asyncmy"}


class LocalStorageSettings(RedactedReprModel):
    """The ``local`` storage backend: one folder on disk, keys as relative paths inside it."""

    model_config = ConfigDict(extra="forbid")

    #: The folder; a relative path is relative to the config folder (the project).
    root: Path = Path(".tausestack_storage")
    #: Flush each object to disk before it replaces the old one: durable across a power loss,
    #: at the cost of a disk sync per write (writes are atomic either way).
    fsync: bool = False


class S3StorageSettings(RedactedReprModel):
    """The ``s3`` storage backend (boto3): AWS S3 or any S3-compatible server.

    Credentials left empty come from boto3's usual chain (``AWS_ACCESS_KEY_ID``, the shared
    credentials file, an instance role…).
    """

    model_config = ConfigDict(extra="forbid")

    bucket: str | None = None
    #: Prepended to every object name (``"myapp/"``), so several apps can share a bucket.
    prefix: str = ""
    region: str | None = None
    #: For S3-compatible servers (MinIO, SeaweedFS, moto): ``http://127.0.0.1:8333``.
    endpoint_url: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    #: ``path`` puts the bucket in the URL path, which most S3-compatible servers need.
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    #: Objects at least this large are uploaded in parts of ``multipart_chunksize`` bytes.
    multipart_threshold: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    multipart_chunksize: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    max_concurrency: int = Field(default=8, ge=1)
    connect_timeout: float = Field(default=10.0, gt=0)
    read_timeout: float = Field(default=60.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)


class StorageSettings(RedactedReprModel):
    """Object storage (``tausestack.sdk.storage``): which backend, and how objects are written."""

    model_config = ConfigDict(extra="forbid")

    #: ``local``, ``s3``, or the dotted path of a class implementing AbstractStorageBackend.
    backend: str = "local"
    local: LocalStorageSettings = Field(default_factory=LocalStorageSettings)
    s3: S3StorageSettings = Field(default_factory=S3StorageSettings)
    #: Streams read and write this many bytes at a time; nothing larger is held in memory.
    chunk_size: int = Field(default=1024 * 1024, ge=4096)
    max_key_length: int = Field(default=1024, ge=16, le=1024)
    #: Parquet compression of DataFrames: ``snappy``, ``zstd``, ``gzip``, ``brotli``, ``lz4``
    #: or ``none``.
    dataframe_compression: Literal["snappy", "zstd", "gzip", "brotli", "lz4", "none"] = "snappy"
    #: Signs the URLs ``binary.url()`` gives on the local backend; required outside ``dev``.
    url_signing_key: SecretStr | None = None
    #: Where the application serves signed local URLs (local backend only).
    url_path: str = "/_storage"
    #: Check at startup that the bucket (or folder) is there, so a typo fails early.
    check_on_startup: bool = True


class MemoryCacheSettings(RedactedReprModel):
    """The ``memory`` cache backend: a bounded LRU in this process."""

    model_config = ConfigDict(extra="forbid")

    max_items: int = Field(default=10_000, ge=1)


class DiskCacheSettings(RedactedReprModel):
    """The ``disk`` cache backend (diskcache): a SQLite-indexed folder shared by local processes."""

    model_config = ConfigDict(extra="forbid")

    #: A relative path is relative to the config folder (the project).
    directory: Path = Path(".tausestack_cache")
    size_limit: int = Field(default=1024**3, ge=1024 * 1024)


class RedisCacheSettings(RedactedReprModel):
    """The ``redis`` cache backend (redis-py, sync and asyncio clients with connection pools)."""

    model_config = ConfigDict(extra="forbid")

    url: str = "redis://localhost:6379/0"
    max_connections: int = Field(default=50, ge=1)
    socket_timeout: float = Field(default=5.0, gt=0)
    #: How long the cross-process stampede lock lives without renewal; its holder renews it
    #: every third of this while it computes, so a crashed holder frees it within this time.
    lock_timeout: float = Field(default=30.0, gt=0, le=TEN_YEARS, allow_inf_nan=False)


class CacheSettings(RedactedReprModel):
    """The cache (``tausestack.sdk.cache``) and ``@cached``."""

    model_config = ConfigDict(extra="forbid")

    #: ``memory``, ``disk``, ``redis``, or the dotted path of a class implementing
    #: AbstractCacheBackend.
    backend: str = "memory"
    #: Prepended to every key, so ``clear()`` removes only this application's entries.
    #: Printable ASCII without spaces, not starting with ``lock:`` (where locks live).
    key_prefix: str = Field(default="tausestack:", pattern=r"^[\x21-\x7e]*$")
    #: Seconds an entry lives when ``set``/``@cached`` give no ``ttl``; None keeps it until evicted.
    default_ttl: float | None = Field(default=300.0, gt=0, le=TEN_YEARS, allow_inf_nan=False)
    #: ``json`` (orjson; safe to share) or ``pickle`` (any Python object; trusted caches only).
    serializer: Literal["json", "pickle"] = "json"
    #: On a shared backend, let one process compute a missing ``@cached`` value while the others
    #: wait for it (a lock in the backend); within one process this always happens.
    distributed_lock: bool = False
    memory: MemoryCacheSettings = Field(default_factory=MemoryCacheSettings)
    disk: DiskCacheSettings = Field(default_factory=DiskCacheSettings)
    redis: RedisCacheSettings = Field(default_factory=RedisCacheSettings)

    @field_validator("key_prefix")
    @classmethod
    def _not_the_locks_prefix(cls, value: str) -> str:
        if value.startswith("lock:"):
            raise ValueError("must not start with 'lock:', where the stampede locks are kept")
        return value


class EnvSecretsSettings(RedactedReprModel):
    """The ``env`` secrets backend: environment variables, optionally under a prefix."""

    model_config = ConfigDict(extra="forbid")

    #: ``secrets.get("STRIPE_KEY")`` reads ``<prefix>STRIPE_KEY``.
    prefix: str = ""


class DotenvSecretsSettings(RedactedReprModel):
    """The ``dotenv`` secrets backend: a ``KEY=value`` file, read again when it changes."""

    model_config = ConfigDict(extra="forbid")

    #: A relative path is relative to the config folder (the project).
    path: Path = Path(".env")


class AwsSecretsSettings(RedactedReprModel):
    """The ``aws`` secrets backend: AWS Secrets Manager through boto3.

    Credentials left empty come from boto3's usual chain (environment, shared files, a role).
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    #: For a Secrets Manager-compatible endpoint (moto, LocalStack).
    endpoint_url: str | None = None
    #: ``secrets.get("stripe")`` reads the secret ``<prefix>stripe`` (``"prod/"``, say).
    prefix: str = ""
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    #: Seconds a value (or a miss) is kept before Secrets Manager is asked again; 0 disables.
    cache_ttl: float = Field(default=300.0, ge=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)


class SecretsSettings(RedactedReprModel):
    """Secrets (``tausestack.sdk.secrets``) and ``${secret:NAME}`` references in settings."""

    model_config = ConfigDict(extra="forbid")

    #: ``env``, ``dotenv``, ``aws``, or the dotted path of an AbstractSecretsBackend subclass.
    backend: str = "env"
    env: EnvSecretsSettings = Field(default_factory=EnvSecretsSettings)
    dotenv: DotenvSecretsSettings = Field(default_factory=DotenvSecretsSettings)
    aws: AwsSecretsSettings = Field(default_factory=AwsSecretsSettings)


class FileNotifySettings(RedactedReprModel):
    """The ``file`` notify backend: one ``.eml`` file per message in a folder."""

    model_config = ConfigDict(extra="forbid")

    #: The folder; a relative path is relative to the config folder (the project).
    path: Path = Path(".tausestack_notifications")


class SmtpNotifySettings(RedactedReprModel):
    """The ``smtp`` notify backend (smtplib): any SMTP server or relay."""

    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    #: Default: 587 with ``starttls``, 465 with ``tls``, 25 with ``none``.
    port: int | None = Field(default=None, ge=1, le=65535)
    #: Log in when set (after TLS is up, unless ``security`` is ``none``).
    username: str | None = None
    password: SecretStr | None = None
    #: ``starttls`` upgrades a plain connection (port 587), ``tls`` starts encrypted (port
    #: 465), ``none`` never encrypts (a local relay or a test server only).
    security: Literal["starttls", "tls", "none"] = "starttls"
    #: Seconds each network operation may take: connecting, and each read or write on the
    #: socket (a server that trickles its replies is bounded by ``send_timeout``).
    timeout: float = Field(default=10.0, gt=0)
    #: Seconds a whole send may take (connecting, TLS, login, the message, the replies); the
    #: connection is closed when they are up.
    send_timeout: float = Field(default=120.0, gt=0)
    #: The name sent in EHLO; default: this machine's fully qualified name.
    local_hostname: str | None = None
    #: A PEM file of certificate authorities to trust instead of the system's (a private relay).
    ca_file: Path | None = None


class SesNotifySettings(RedactedReprModel):
    """The ``ses`` notify backend: Amazon SES through boto3's ``sesv2`` client.

    Credentials left empty come from boto3's usual chain (environment, shared files, a role).
    """

    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    #: For an SES-compatible endpoint (moto, LocalStack).
    endpoint_url: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    #: The SES configuration set (event publishing, dedicated IPs) every message uses.
    configuration_set: str | None = None
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)


class NotifySettings(RedactedReprModel):
    """Email (``tausestack.sdk.notify``): which backend, the sender, templates and limits."""

    model_config = ConfigDict(extra="forbid")

    #: ``console``, ``file``, ``smtp``, ``ses``, or the dotted path of an AbstractNotifyBackend
    #: subclass. The original SDK's ``local_file`` means ``file``.
    backend: str = "console"
    #: The default ``From``: ``"Shop <noreply@shop.example>"`` or a bare address.
    sender: str | None = None
    #: Folders searched for email templates before the installed apps' ``templates/email/``;
    #: relative paths are relative to the config folder.
    template_dirs: list[Path] = Field(default_factory=list)
    #: The largest message accepted, attachments and encoding included, in bytes.
    max_message_size: int = Field(default=25 * 1024 * 1024, ge=1024)
    #: The domain of the Message-IDs TauseStack makes; default: the sender's domain.
    message_id_domain: str | None = None
    #: At startup, connect and log in to the SMTP server (``smtp``) or ask SES for the
    #: account (``ses``), so a wrong host or password fails there rather than on a send.
    check_on_startup: bool = False
    file: FileNotifySettings = Field(default_factory=FileNotifySettings)
    smtp: SmtpNotifySettings = Field(default_factory=SmtpNotifySettings)
    ses: SesNotifySettings = Field(default_factory=SesNotifySettings)

    @field_validator("backend")
    @classmethod
    def _original_names(cls, value: str) -> str:
        return "file" if value == "local_file" else value

    @field_validator("message_id_domain")
    @classmethod
    def _a_host_name(cls, value: str | None) -> str | None:
        if value is not None and not _HOST_NAME.fullmatch(value):
            raise ValueError(
                "must be a host name such as mail.shop.example (letters, digits, hyphens and "
                "dots; an internationalized name in its xn-- form)"
            )
        return value


AsymmetricAlgorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]


def _rs256() -> list[AsymmetricAlgorithm]:
    return ["RS256"]


class OidcSettings(RedactedReprModel):
    """The ``oidc`` auth backend: tokens from any provider that publishes a JWKS."""

    model_config = ConfigDict(extra="forbid")

    #: The provider's issuer (the ``iss`` claim), e.g. ``https://accounts.example.com``.
    issuer: str | None = None
    #: The audience tokens must be meant for (the ``aud`` claim): your API's identifier.
    audience: str | None = None
    #: Where the signing keys are; default ``<issuer>/.well-known/jwks.json``.
    jwks_url: str | None = None
    #: Asymmetric algorithms only: a shared-secret algorithm would let anyone who knows the
    #: public key sign tokens.
    algorithms: list[AsymmetricAlgorithm] = Field(default_factory=_rs256, min_length=1)
    #: The claim that lists the user's roles.
    roles_claim: str = "roles"
    #: Seconds of clock difference tolerated on ``exp``/``nbf``/``iat``.
    leeway: float = Field(default=30.0, ge=0, le=300)
    #: Seconds the key set is kept before it is fetched again (an unknown key id fetches it
    #: at once, at most every ``jwks_cooldown`` seconds).
    jwks_cache: float = Field(default=300.0, gt=0)
    jwks_cooldown: float = Field(default=30.0, ge=0)
    jwks_timeout: float = Field(default=5.0, gt=0)


JwtAlgorithm = Literal["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "EdDSA"]


class JwtSettings(RedactedReprModel):
    """The built-in ``jwt`` auth backend: accounts in the app's database, tokens it signs.

    Keys usually come from secrets: ``secret: ${secret:JWT_SECRET}`` for HS256, or
    ``private_key: ${secret:JWT_PRIVATE_KEY}`` (PEM) for RS256/ES256/EdDSA.
    """

    model_config = ConfigDict(extra="forbid")

    algorithm: JwtAlgorithm = "HS256"
    #: The shared key of the HS* algorithms: at least 32 bytes of randomness
    #: (``python -c "import secrets; print(secrets.token_urlsafe(48))"``).
    secret: SecretStr | None = None
    #: The PEM private key of the asymmetric algorithms.
    private_key: SecretStr | None = None
    #: Keys that verified tokens before a rotation and still verify them (never sign):
    #: shared secrets for HS*, PEM public keys otherwise. Drop them after ``refresh_ttl``.
    previous_keys: list[SecretStr] = Field(default_factory=list)
    #: The ``iss`` and ``aud`` of the tokens this app issues and accepts.
    issuer: str = "tausestack"
    audience: str = "tausestack"
    #: Seconds an access token is valid: short, as it is checked without the database.
    access_ttl: int = Field(default=900, ge=10, le=86_400)
    #: Seconds a refresh token is valid; every refresh replaces it (rotation).
    refresh_ttl: int = Field(default=14 * 86_400, ge=60)
    #: Seconds of clock difference tolerated on ``exp``/``iat``.
    leeway: float = Field(default=0.0, ge=0, le=300)
    #: Also look the account up on every request: a disabled or deleted account, changed
    #: roles and revoked tokens take effect at once instead of at the access token's expiry
    #: (one primary-key read per request).
    check_account: bool = False
    min_password_length: int = Field(default=8, ge=1, le=1024)
    #: Passwords hashed or checked at once per process, on threads of their own; the others
    #: wait holding no thread. Each argon2id hash takes about 64 MiB and 4 threads of CPU.
    max_concurrent_hashes: int = Field(default=2, ge=1, le=256)
    #: Access tokens remembered once verified, until they expire (0: verify every time).
    verified_cache: int = Field(default=4096, ge=0)


class FirebaseSettings(RedactedReprModel):
    """The ``firebase`` auth backend: Firebase Authentication through firebase-admin."""

    model_config = ConfigDict(extra="forbid")

    #: The Firebase project; default: the credentials' project, or ``GOOGLE_CLOUD_PROJECT``.
    project_id: str | None = None
    #: A service account's JSON (the file's content), usually ``${secret:FIREBASE_CREDENTIALS}``.
    credentials: SecretStr | None = None
    #: Or the path of that JSON file; with neither, Google's application default credentials.
    credentials_file: Path | None = None
    #: Also ask Firebase whether the token was revoked (one call per verification).
    check_revoked: bool = False
    #: The custom claim that lists the user's roles.
    roles_claim: str = "roles"
    #: Profiles in which ``FIREBASE_AUTH_EMULATOR_HOST`` may be set; in any other profile the
    #: backend refuses to start, as the emulator's tokens are not signed.
    emulator_profiles: list[str] = Field(default_factory=lambda: ["dev", "test"])


class AuthSessionSettings(RedactedReprModel):
    """Cookie sessions of ``tausestack.contrib.auth`` (the ``jwt`` backend), for
    server-rendered pages; unsafe methods must echo the CSRF token."""

    model_config = ConfigDict(extra="forbid")
    #: Names of cookies, not their values: shown by reprs and ``config show``.
    public_fields: ClassVar[frozenset[str]] = frozenset({"cookie", "csrf_cookie"})

    #: The HttpOnly cookie holding the session token.
    cookie: str = Field(default="tausestack_session", pattern=r"^[A-Za-z0-9_\-]+$")
    #: The cookie (readable by scripts) holding the CSRF token.
    csrf_cookie: str = Field(default="tausestack_csrf", pattern=r"^[A-Za-z0-9_\-]+$")
    #: The header (or form field ``csrf_token``) a POST/PUT/PATCH/DELETE must carry it in.
    csrf_header: str = "X-CSRF-Token"
    #: ``Secure`` cookies; null: when the login request came over HTTPS.
    secure: bool | None = None
    same_site: Literal["lax", "strict", "none"] = "lax"
    #: Seconds a session lasts (the cookie's Max-Age).
    ttl: int = Field(default=14 * 86_400, ge=60)

    @model_validator(mode="after")
    def _none_needs_secure(self) -> Self:
        if self.same_site == "none" and self.secure is False:
            raise ValueError(
                "same_site 'none' needs secure cookies: browsers drop SameSite=None cookies "
                "without Secure. Set secure: true (or leave it unset)."
            )
        return self


class LoginThrottleSettings(RedactedReprModel):
    """Failed password attempts allowed by ``tausestack.contrib.auth`` before it answers 429.

    Counted on ``security.rate_limit.storage`` (``memory://``: per process; Redis: across every
    worker), also while ``security.rate_limit.enabled`` is false. Only failures count. The
    limits are checked when the app starts with ``tausestack.contrib.auth`` (importing
    ``limits`` is left to the apps that use them).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    #: Failures per account (email), in the ``limits`` notation; a success clears them.
    #: null: no limit per account.
    per_account: str | None = "10/15 minutes"
    #: Failures per client address, whatever the accounts; a success does not clear them.
    #: null: no limit per address.
    per_address: str | None = "100/15 minutes"
    #: ``moving-window`` counts exactly (it keeps each failure's time, a few per account);
    #: ``sliding-window-counter`` and ``fixed-window`` keep one number but let a few more
    #: attempts through at a window's edge.
    strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = "moving-window"


class AuthSettings(RedactedReprModel):
    """Authentication (``tausestack.sdk.auth``) and role-based access."""

    model_config = ConfigDict(extra="forbid")

    #: ``jwt``, ``firebase``, ``oidc``, or the dotted path of an AbstractAuthBackend subclass;
    #: null: no auth.
    backend: str | None = None
    jwt: JwtSettings = Field(default_factory=JwtSettings)
    firebase: FirebaseSettings = Field(default_factory=FirebaseSettings)
    oidc: OidcSettings = Field(default_factory=OidcSettings)
    sessions: AuthSessionSettings = Field(default_factory=AuthSessionSettings)
    #: Whether ``POST /auth/register`` of ``tausestack.contrib.auth`` is open to anyone.
    registration: bool = True
    #: Role → the permissions it grants, for ``require_permissions``:
    #: ``{"editor": ["articles:write"], "admin": ["*"]}`` (``*`` grants every permission).
    permissions: dict[str, list[str]] = Field(default_factory=dict)
    #: Failed password attempts allowed per account and per client address.
    login_throttle: LoginThrottleSettings = Field(default_factory=LoginThrottleSettings)


class MemoryTasksSettings(RedactedReprModel):
    """The ``memory`` tasks backend: asyncio workers inside the application process."""

    model_config = ConfigDict(extra="forbid")

    #: Finished jobs whose status and result are kept; the oldest are forgotten first.
    max_jobs: int = Field(default=10_000, ge=1)


class RedisTasksSettings(RedactedReprModel):
    """The ``redis`` tasks backend: taskiq on Redis streams (at-least-once delivery)."""

    model_config = ConfigDict(extra="forbid")

    #: ``redis://host:6379/0``; may reference a secret (``${secret:REDIS_URL}``).
    url: str = "redis://127.0.0.1:6379/0"
    #: The stream (queue) jobs are written to, and the prefix of every other key of the
    #: backend; apps sharing a Redis need different names.
    queue: str = Field(default="tausestack:tasks", pattern=r"^[\x21-\x7e]+$")
    #: Seconds after which a job whose worker stopped renewing its claim (killed, crashed,
    #: cut off) is given to another worker. A live worker renews its claims every third of
    #: this, so long jobs are never taken from it.
    redelivery_timeout: float = Field(default=60.0, gt=0)
    #: Seconds a finished job's status and result are kept.
    result_ttl: int = Field(default=86_400, ge=1)


class TasksSettings(RedactedReprModel):
    """Background tasks (``tausestack.sdk.tasks``)."""

    model_config = ConfigDict(extra="forbid")

    #: ``memory`` (in-process workers, started and stopped with the app), ``redis`` (run
    #: ``tausestack worker``), or the dotted path of a backend class.
    backend: str = "memory"
    #: Jobs run at the same time by one worker (memory: per app; redis: per worker process).
    concurrency: int = Field(default=10, ge=1, le=10_000)
    #: Attempts after the first when a task raises, unless the task says otherwise.
    max_retries: int = Field(default=3, ge=0, le=100)
    #: Seconds before the first retry; each next one waits ``retry_backoff`` times longer.
    retry_delay: float = Field(default=1.0, ge=0)
    retry_backoff: float = Field(default=2.0, ge=1)
    #: Seconds a job may run before it is cancelled and counted as failed (null: no limit).
    timeout: float | None = Field(default=None, gt=0)
    #: Seconds running jobs get to finish when the app or the worker stops; the jobs still
    #: running then are cancelled (memory) or handed back to the queue (redis).
    shutdown_timeout: float = Field(default=20.0, ge=0)
    memory: MemoryTasksSettings = Field(default_factory=MemoryTasksSettings)
    redis: RedisTasksSettings = Field(default_factory=RedisTasksSettings)
