"""The ``security:`` settings: headers, CORS, body size limit (pure pydantic)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)


class SecurityHeadersSettings(BaseModel):
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


class CorsSettings(BaseModel):
    """Cross-origin requests (Starlette's CORSMiddleware); off until origins are listed."""

    model_config = ConfigDict(extra="forbid")

    allow_origins: list[str] = Field(default_factory=list)
    allow_origin_regex: str | None = None
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "PUT", "PATCH", "DELETE"]
    )
    allow_headers: list[str] = Field(default_factory=lambda: ["Authorization", "Content-Type"])
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


class SecuritySettings(BaseModel):
    """HTTP security: headers, CORS and the request body limit (``security:``)."""

    model_config = ConfigDict(extra="forbid")

    headers: SecurityHeadersSettings = Field(default_factory=SecurityHeadersSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    #: Request bodies larger than this many bytes get a 413; null means no limit.
    max_body_size: int | None = Field(default=10 * 1024 * 1024, ge=1)
