"""The database's providers, added to an app's container when something in it asks for them.

``create_app()`` registers them when a component or route needs ``Database``, a session, an
engine, a repository's backend, or when the project imports ``tausestack.sdk.database``; apps
that never touch a database pay nothing for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession as SQLAlchemyAsyncSession
from sqlalchemy.orm import Session as SQLAlchemySession
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from ...di._keys import Scope
from ...di._markers import ComponentSpec
from ...di._providers import Provider, class_provider, function_provider
from ...di._scope import RequestScope
from ...settings import Settings
from .._plugins import load_backend
from ._database import Database
from ._sqlalchemy import SQLAlchemyDatabaseBackend
from .base import AbstractDatabaseBackend
from .errors import (
    DatabaseConfigurationError,
    DuplicateRecordError,
    InvalidCursorError,
    InvalidDataError,
    InvalidPageError,
    RecordNotFoundError,
)

if TYPE_CHECKING:
    from ...app import TauseStackApp

APP = "tausestack.sdk.database"

#: Where data refused on its way to the database is reported (model and fields, no values).
logger = logging.getLogger("tausestack.database")


def engine(database: Database) -> Engine:
    """The application's sync engine."""
    return database.engine


def async_engine(database: Database) -> AsyncEngine:
    """The application's async engine."""
    return database.async_engine


async def session(database: Database, scope: RequestScope) -> Session:
    """The request's sync session: committed before the response, rolled back on failure."""
    return database.request_session(scope)


async def async_session(database: Database, scope: RequestScope) -> AsyncSession:
    """The request's async session: committed before the response, rolled back on failure."""
    return await database.request_async_session(scope)  # type: ignore[return-value]


def database_backend(settings: Settings, database: Database) -> AbstractDatabaseBackend:
    """The backend ``database.backend`` names: ``sqlalchemy`` or a dotted class path."""
    name = settings.database.backend
    if name == "sqlalchemy":
        return SQLAlchemyDatabaseBackend(database)
    try:
        backend: AbstractDatabaseBackend = load_backend(
            name,
            AbstractDatabaseBackend,
            settings,
            setting="database.backend",
            built_in=("sqlalchemy",),
            error=DatabaseConfigurationError,
        )
    except DatabaseConfigurationError as exc:
        source = settings.source_of("database", "backend")
        raise DatabaseConfigurationError(f"{exc} database.backend is set in {source}.") from None
    return backend


async def bad_request(request: Request, exc: Exception) -> JSONResponse:
    """A cursor, a page number and a page size come from the client: a bad one is the
    client's error, a 400."""
    return JSONResponse({"detail": str(exc)}, status_code=400)


async def invalid_data(request: Request, exc: Exception) -> JSONResponse:
    """Data refused by the model (``null`` for a required field in a PATCH) is the client's
    error: a 422 shaped like FastAPI's, without the values (a row's other fields may be in
    them)."""
    assert isinstance(exc, InvalidDataError)
    detail = [
        {"type": error["type"], "loc": ["body", *error["loc"]], "msg": error["msg"]}
        for error in exc.errors()
    ]
    # The data may have come from the server's own code rather than the request: say so where
    # the developer looks, naming the fields only.
    fields = ", ".join(sorted({".".join(map(str, error["loc"])) for error in exc.errors()}))
    logger.warning(
        "%s %s: data for %s refused (%s), answered with a 422. If this data was not the "
        "request's, the code that made it needs fixing.",
        request.method,
        request.url.path,
        exc.model,
        fields or "the whole row",
    )
    return JSONResponse({"detail": detail}, status_code=422)


async def not_found(request: Request, exc: Exception) -> JSONResponse:
    """Updating a row that does not exist (``RecordNotFoundError``): a 404."""
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def conflict(request: Request, exc: Exception) -> JSONResponse:
    """A value that clashes with a unique column (``DuplicateRecordError``): a 409, naming the
    columns, not the values."""
    return JSONResponse({"detail": str(exc)}, status_code=409)


def exception_handlers() -> dict[type[Exception], Any]:
    """Exception handlers the app gets with database support."""
    return {
        InvalidCursorError: bad_request,
        InvalidPageError: bad_request,
        InvalidDataError: invalid_data,
        RecordNotFoundError: not_found,
        DuplicateRecordError: conflict,
    }


async def checks(app: TauseStackApp, *, startup: bool) -> list[str]:
    """Revisions not applied, tables or columns the models need missing (``tausestack check``
    and startup run it; see ``_checks``)."""
    from ._checks import check_schema

    return await check_schema(app, startup=startup)


def providers(wanted: set[Any]) -> list[Provider]:
    """The database's providers for one container.

    The engine providers are added only when something asks for an engine: a singleton is
    built by ``create_app()``, and building an engine imports its driver.
    """

    def spec(scope: Scope = Scope.SINGLETON, provides: tuple[Any, ...] = ()) -> ComponentSpec:
        return ComponentSpec(kind="provider", scope=scope, provides=provides)

    chosen = [
        class_provider(Database, ComponentSpec(kind="component"), app=APP),
        function_provider(session, spec(Scope.REQUEST, (SQLAlchemySession,)), app=APP),
        function_provider(async_session, spec(Scope.REQUEST, (SQLAlchemyAsyncSession,)), app=APP),
        function_provider(database_backend, spec(), app=APP),
    ]
    if Engine in wanted:
        chosen.append(function_provider(engine, spec(), app=APP))
    if AsyncEngine in wanted:
        chosen.append(function_provider(async_engine, spec(), app=APP))
    return chosen
