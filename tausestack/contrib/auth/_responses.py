"""What the endpoints of ``tausestack.contrib.auth`` answer besides success, for their OpenAPI.

Their refusals are ``{"detail": {"reason", "message"}}`` (``AuthRefusal``, as auth's own), and a
422 is either FastAPI's list of field errors (a malformed request) or such a refusal
(``invalid_user_data``: a weak password, a bad email): :class:`InvalidRequest` says both. A 429
is the login throttle's refusal or, where ``security.rate_limit`` limits the route, the rate-limit
middleware's ``{"detail": "Too many requests…"}``: :class:`TooManyRequests` says both.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ...sdk.auth._openapi import AuthRefusal, AuthRefusalDetail

__all__ = ["FieldError", "InvalidRequest", "TooManyRequests", "responses"]


class FieldError(BaseModel):
    """One field FastAPI's request validation refused."""

    model_config = ConfigDict(extra="allow")  # input, ctx, url: as pydantic gives them

    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """The body of a 422: the fields a malformed request got wrong, or ``invalid_user_data``."""

    detail: list[FieldError] | AuthRefusalDetail = Field(
        description="FastAPI's list of field errors, or a reason and a message."
    )


class TooManyRequests(BaseModel):
    """The body of a 429: the login throttle's ``too_many_attempts``, or the rate-limit
    middleware's sentence."""

    detail: AuthRefusalDetail | str = Field(
        description="A reason and a message (the login throttle), or the rate limiter's sentence."
    )


_MODELS: dict[int, type[BaseModel]] = {422: InvalidRequest, 429: TooManyRequests}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": 'Bearer error="invalid_token" (or "invalid_request") and a description.',
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds before another attempt is allowed.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


def responses(**described: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route from ``status_<code>=description`` pairs: the model and
    headers of each status.

    Example::

        @post("/login", responses=responses(status_401="Wrong email or password."))
    """
    declared: dict[int | str, dict[str, Any]] = {}
    for name, description in described.items():
        status = int(name.removeprefix("status_"))
        model = _MODELS.get(status, AuthRefusal)
        declared[status] = {"model": model, "description": description}
        if status in _HEADERS:
            declared[status]["headers"] = _HEADERS[status]
    return declared
