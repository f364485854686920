"""The ``security:`` settings: headers, CORS, body size limit, rate limits (pure pydantic)."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from ..._redaction import RedactedReprModel

DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


class SecurityHeadersSettings(RedactedReprModel):
    """Headers added to every response that does not set them itself; ``null`` leaves one out."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    content_security_policy: str | None = DEFAULT_CONTENT_SECURITY_POLICY
    content_type_options: str | None = "nosniff"
    frame_options: str | None = "DENY"
    referrer_policy: str | None = "strict-origin-when-cross-origin"
    cross_origin_opener_policy: str | None = "same-origin"
    permissions_policy: str | None = "camera=(), microphone=(), geolocation=()"
    #: Strict-Transport-Security, sent over HTTPS only; 0 leaves it out.
    hsts_max_age: int = Field(default=63_072_000, ge=0)
    hsts_include_subdomains: bool = True
    hsts_preload: bool = False

    def common(self) -> list[tuple[str, str]]:
        """The headers for every response."""
        values = {
            "Content-Security-Policy": self.content_security_policy,
            "X-Content-Type-Options": self.content_type_options,
            "X-Frame-Options": self.frame_options,
            "Referrer-Policy": self.referrer_policy,
            "Cross-Origin-Opener-Policy": self.cross_origin_opener_policy,
            "Permissions-Policy": self.permissions_policy,
        }
        return [(name, value) for name, value in values.items() if value]

    def https_only(self) -> list[tuple[str, str]]:
        """The headers for responses over HTTPS: HSTS."""
        if not self.hsts_max_age:
            return []
        value = f"max-age={self.hsts_max_age}"
        if self.hsts_include_subdomains:
            value += "; includeSubDomains"
        if self.hsts_preload:
            value += "; preload"
        return [("Strict-Transport-Security", value)]


class CorsSettings(RedactedReprModel):
    """Cross-origin requests (Starlette's CORSMiddleware); off until origins are listed."""

    model_config = ConfigDict(extra="forbid")

    allow_origins: list[str] = Field(default_factory=list)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"]
    )
    #: ``X-CSRF-Token`` is ``auth.sessions.csrf_header``'s default: cookie sessions need it.
    allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "X-CSRF-Token"]
    )
    allow_credentials: bool = False
    expose_headers: list[str] = Field(default_factory=list)
    max_age: int = Field(default=600, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.allow_origins or self.allow_origin_regex)

    @model_validator(mode="after")
    def _credentials_need_named_origins(self) -> Self:
        if self.allow_credentials and "*" in self.allow_origins:
            raise ValueError(
                "allow_credentials with allow_origins ['*'] would let any site make requests "
                "with your users' cookies; list the origins that may"
            )
        return self


class RateLimitSettings(RedactedReprModel):
    """Rate limits (``limits`` notation: ``"100/minute"``, ``"5/second;1000/day"`` is not one)."""

    model_config = ConfigDict(extra="forbid")

    #: Off by default: behind a proxy every client has the proxy's address until uvicorn runs
    #: with ``--proxy-headers`` (and ``--forwarded-allow-ips``).
    enabled: bool = False
    #: The limit for every path that ``paths`` does not name; null: only ``paths`` are limited.
    default: str | None = "120/minute"
    #: Limits for paths and what is under them (whole segments), the longest match first:
    #: ``{"/auth/login": "5/minute"}``.
    paths: dict[str, str] = Field(default_factory=dict)
    #: ``ip`` (per client address), ``user`` (per user of the request's bearer token or session
    #: cookie, verified by ``auth.backend``; else per address) or ``route`` (per method and path,
    #: for every client together).
    key: Literal["ip", "user", "route"] = "ip"
    strategy: Literal["fixed-window", "moving-window", "sliding-window-counter"] = (
        "sliding-window-counter"
    )
    #: ``memory://`` (each process counts alone) or ``redis://host:port/db`` (shared by every
    #: worker and machine using that server).
    storage: str = "memory://"
    #: Connections to the Redis ``storage`` at most; a request waits for a free one.
    pool_size: int = Field(default=50, ge=1)
    #: Seconds a request waits for a free connection, and for Redis to connect and answer,
    #: before that counts as a storage error.
    pool_timeout: float = Field(default=2.0, gt=0)
    #: When the storage fails (Redis down, timed out, no free connection): ``open`` serves the
    #: request uncounted and logs a warning at most once a minute; ``closed`` answers 503.
    on_storage_error: Literal["open", "closed"] = "open"
    #: Paths not limited, each with what is under it (``/docs`` covers ``/docs/…``).
    exempt_paths: list[str] = Field(default_factory=lambda: ["/docs", "/redoc", "/openapi.json"])

    @model_validator(mode="after")
    def _limits_parse(self) -> Self:
        if not self.enabled:  # checked when turned on; importing limits costs ~80 ms
            return self
        from limits import parse

        for where, value in [("default", self.default), *self.paths.items()]:
            if value is None:
                continue
            try:
                parse(value)
            except ValueError:
                raise ValueError(
                    f"{where}: {value!r} is not a rate limit; write it as '100/minute', "
                    "'5/second' or '1000 per day'"
                ) from None
        scheme = self.storage.partition("://")[0]
        if self.storage != "memory://" and scheme not in {"redis", "rediss"}:
            raise ValueError(
                "storage must be memory:// (one process) or redis://host:port/db (shared by "
                "every worker)"
            )
        return self


class SecuritySettings(RedactedReprModel):
    """HTTP security: headers, CORS and the request body limit (``security:``)."""

    model_config = ConfigDict(extra="forbid")

    headers: SecurityHeadersSettings = Field(default_factory=SecurityHeadersSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    #: Request bodies larger than this many bytes get a 413; null means no limit.
    max_body_size: int | None = Field(default=10 * 1024 * 1024, ge=1)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
