"""Settings sections of the SDK modules (pure pydantic: loading them imports no backend library).

They live here, outside the modules themselves, so ``tausestack.settings`` can declare them
without importing SQLAlchemy, boto3 or redis.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_URL = "sqlite:///app.db"


class DatabaseSettings(BaseModel):
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
    #: ``sqlalchemy`` or the dotted path of a class implementing AbstractDatabaseBackend.
    backend: str = "sqlalchemy"

    def url_driver_is_async(self) -> bool:
        """Whether ``url`` names an async driver (``postgresql+asyncpg://…``)."""
        driver = self.url.partition("://")[0].partition("+")[2]
        return driver in {"aiosqlite", "asyncpg", "aiomysql", "asyncmy"}
