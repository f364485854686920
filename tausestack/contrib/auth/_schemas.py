"""The request and response bodies of ``tausestack.contrib.auth``'s endpoints (re-exported by
``controllers``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ...sdk.auth import User
from ...sdk.auth._tickets import TICKET_PARAMETER
from ...sdk.auth.jwt_backend import TokenPair

__all__ = [
    "AccountOut",
    "ProfileUpdate",
    "RefreshRequest",
    "Registration",
    "TokenResponse",
    "WebsocketTicket",
]


class Registration(BaseModel):
    """What ``POST /auth/register`` accepts: nothing else (no roles, no claims)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    display_name: str | None = Field(default=None, max_length=200)


class ProfileUpdate(BaseModel):
    """What an account may change about itself: its display name, and its password when it
    gives the current one."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(default=None, max_length=200)
    password: str | None = Field(default=None, max_length=1024)
    current_password: str | None = Field(default=None, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: str = Field(max_length=200)


class AccountOut(BaseModel):
    """An account as its owner sees it."""

    id: str
    email: str | None
    email_verified: bool
    display_name: str | None
    roles: list[str]

    @classmethod
    def of(cls, user: User) -> AccountOut:
        return cls(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            display_name=user.display_name,
            roles=list(user.roles),
        )


class TokenResponse(BaseModel):
    """The OAuth2 token response."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            refresh_expires_in=pair.refresh_expires_in,
        )


class WebsocketTicket(BaseModel):
    """A ticket for one websocket: ``wss://host/path?ws_ticket=<ticket>`` within
    ``expires_in`` seconds. It is used up by the handshake."""

    ticket: str
    expires_in: int
    parameter: str = TICKET_PARAMETER
