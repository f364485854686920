"""``create_app()``: settings → discovery → container → routes → lifespan, into a FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from ._autoconfig import Check, autoconfigure, run_checks, wanted_types
from .di._container import Container
from .di._keys import DependencyKey, Scope
from .di._markers import component_spec
from .di._providers import Provider, ProviderKind, instance_provider, provider_for
from .discovery import Discovery, discover
from .errors import ProviderDefinitionError
from .sdk.secrets._references import resolve_references
from .sdk.tasks._registry import TaskRegistry
from .sdk.tasks._task import Task
from .settings import Settings
from .web._json_body import UnicodeJsonRoute
from .web._middleware import RequestScopeMiddleware, recording_handler, settle_sync_endpoints
from .web._mount import AppRoutes, RoutePlan, mount, plan_routes
from .web.middleware import BodySizeLimitMiddleware, SecurityHeadersMiddleware

__all__ = ["TauseStackApp", "UnicodeJsonRoute", "create_app"]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]

#: Where the problems the checks find at startup are logged, as warnings.
checks_logger = logging.getLogger("tausestack.checks")


class TauseStackApp(FastAPI):
    """The FastAPI application ``create_app()`` returns, with its container and settings.

    Everything FastAPI offers works unchanged; on top of it:

    * ``app.container`` — the dependency-injection container of this application,
    * ``app.settings`` — the loaded settings (sections included),
    * ``app.discovery`` — what discovery found in the installed apps,
    * ``app.checks`` — the checks of the SDK modules it uses, which ``tausestack check`` runs
      and the app runs when it starts, logging what they find as warnings.
    """

    container: Container
    settings: Settings
    discovery: Discovery
    checks: list[Check]
    #: The SDK modules' middleware that wraps the whole stack (auth's ticket redaction).
    outer_middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = ()

    def build_middleware_stack(self) -> ASGIApp:
        # Handled exceptions (HTTPException, validation errors, custom handlers) never reach
        # the middleware, so each handler tells the request scope that the request failed.
        self.exception_handlers = {
            key: recording_handler(handler) for key, handler in self.exception_handlers.items()
        }
        stack = super().build_middleware_stack()
        # Outside Starlette's ServerErrorMiddleware, so its 500s get the headers too.
        headers = self.settings.security.headers if hasattr(self, "settings") else None
        if headers is not None and headers.enabled:
            docs = [self.docs_url, self.redoc_url, self.swagger_ui_oauth2_redirect_url]
            stack = SecurityHeadersMiddleware(
                stack,
                headers.common(),
                headers.https_only(),
                docs_paths=[path for path in docs if path],
            )
        for middleware in reversed(self.outer_middleware):
            stack = middleware(stack)
        return stack


def create_app(
    settings: Settings | None = None,
    *,
    overrides: Mapping[Any, Any] | None = None,
    components: Sequence[Any] = (),
    routers: Sequence[APIRouter] = (),
    **fastapi_options: Any,
) -> TauseStackApp:
    """Build a FastAPI application from the settings and the installed apps.

    Args:
        settings: the settings to use; loaded from the sources (``Settings()``) when omitted.
        overrides: replacements for providers, keyed by type (or ``Annotated[T,
            Qualifier("x")]``): an instance is used as it is, a class is constructed with
            injection. Meant for tests.
        components: extra classes, provider functions and ``@task`` functions to register
            besides discovered ones.
        routers: extra plain ``APIRouter`` objects to include after the installed apps'.
        **fastapi_options: passed to ``FastAPI(...)``; they win over the ``app:`` settings.

    Returns:
        A :class:`TauseStackApp` (a ``FastAPI`` subclass) whose container is built: every
        singleton that needs no event loop exists, and the others are created when the
        lifespan starts.

    Raises:
        SettingsError, DiscoveryError, DependencyError, RouteError: the application cannot
            work as configured; the message says what to change.
    """
    settings = settings if settings is not None else Settings()
    discovery = discover(settings.installed_apps, settings.discovery.modules)
    settings = resolve_references(settings.with_sections(discovery.sections))
    app_routes: list[AppRoutes] = []
    providers = _settings_providers(settings)
    for app_entry in discovery.apps:
        entry = AppRoutes(app_entry.label, routers=list(app_entry.routers))
        for component in app_entry.components:
            _register(component, app_entry.name, settings.profile, providers, entry)
        app_routes.append(entry)
    extra = AppRoutes("main", routers=list(routers))
    tasks = list(discovery.tasks)
    for component in components:
        if isinstance(component, Task):
            tasks.append(component)
        else:
            _register(component, None, settings.profile, providers, extra)
    app_routes.append(extra)
    plan = plan_routes(app_routes)
    app_modules = [module for app_entry in discovery.apps for module in app_entry.modules]
    wanted = wanted_types(providers, plan.injected_types())
    if tasks:  # the tasks' own providers, and what their parameters ask for
        registry = TaskRegistry(tasks)
        providers.append(instance_provider(registry, (DependencyKey(TaskRegistry),), "the tasks"))
        wanted |= registry.wanted_types()
    configuration = autoconfigure(providers, wanted, app_modules, settings)
    providers += configuration.providers
    if configuration.routers:  # served by the framework, after the apps' own routes
        framework = AppRoutes("tausestack", routers=configuration.routers)
        plan = RoutePlan([*plan.apps, framework], plan.controllers)

    container = Container(providers, overrides=overrides)
    container.build()

    scoped = _needs_request_scope(providers)
    user_lifespan: Lifespan | None = fastapi_options.pop("lifespan", None)
    app = TauseStackApp(
        **{**_fastapi_defaults(settings), **fastapi_options},
        lifespan=_lifespan(container, user_lifespan, settle_sync=scoped),
    )
    app.router.route_class = UnicodeJsonRoute
    if RequestValidationError not in (fastapi_options.get("exception_handlers") or {}):
        app.add_exception_handler(RequestValidationError, validation_error)
    for error, handler in configuration.exception_handlers.items():
        if error not in app.exception_handlers:
            app.add_exception_handler(error, handler)
    app.container = container
    app.settings = settings
    app.discovery = discovery
    app.checks = configuration.checks
    app.outer_middleware = configuration.middleware
    app.state.container = container
    mount(app, container, plan, settle_sync=scoped)
    if scoped:
        app.add_middleware(RequestScopeMiddleware, container=container)
    _add_security_middleware(app, settings)
    return app


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 (``{"detail": [...]}``, the same shape), with what cannot be UTF-8 in the
    input it echoes escaped: a lone surrogate (``"\\ud800"``) made FastAPI's own handler fail
    to encode its answer, a 500."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse({"detail": _encodable(jsonable_encoder(errors))}, status_code=422)


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    return value


def _add_security_middleware(app: FastAPI, settings: Settings) -> None:
    """Rate limits, the body limit and CORS from ``security:`` (the headers wrap the whole
    stack); CORS outermost, so refused requests still carry its headers."""
    security = settings.security
    if security.rate_limit.enabled:
        from .web.middleware.rate_limit import RateLimitMiddleware

        app.add_middleware(RateLimitMiddleware, settings=security.rate_limit)
    if security.max_body_size is not None:
        app.add_middleware(BodySizeLimitMiddleware, max_body_size=security.max_body_size)
    cors = security.cors
    if cors.enabled:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors.allow_origins,
            allow_origin_regex=cors.allow_origin_regex,
            allow_methods=cors.allow_methods,
            allow_headers=cors.allow_headers,
            allow_credentials=cors.allow_credentials,
            expose_headers=cors.expose_headers,
            max_age=cors.max_age,
        )


def _register(
    component: Any,
    app: str | None,
    profile: str,
    providers: list[Provider],
    entry: AppRoutes,
) -> None:
    spec = component_spec(component)
    if spec is None:
        raise ProviderDefinitionError(
            f"create_app(components=...) got {component!r}, which is not marked with @Service, "
            "@Repository, @Controller or @provider."
        )
    if not spec.active_in(profile):
        return
    provider = provider_for(component, app=app, spec=spec)
    providers.append(provider)
    if spec.kind == "controller":
        entry.controllers.append(provider)


def _settings_providers(settings: Settings) -> list[Provider]:
    # Injectable as Settings and as any subclass of it the project declared.
    keys = tuple(
        DependencyKey(kind)
        for kind in type(settings).__mro__
        if isinstance(kind, type) and issubclass(kind, Settings)
    )
    providers = [instance_provider(settings, keys, "the application settings")]
    for section in settings.sections:
        label = f"the {section.section_name!r} settings section"
        providers.append(instance_provider(section, (DependencyKey(type(section)),), label))
    return providers


def _needs_request_scope(providers: Sequence[Provider]) -> bool:
    return any(
        provider.scope is not Scope.SINGLETON and provider.kind is not ProviderKind.CONTEXT
        for provider in providers
    )


def _fastapi_defaults(settings: Settings) -> dict[str, Any]:
    options = settings.app
    return {
        "title": options.title,
        "version": options.version,
        "description": options.description,
        "debug": options.debug,
        "docs_url": options.docs_url,
        "redoc_url": options.redoc_url,
        "openapi_url": options.openapi_url,
        "root_path": options.root_path,
    }


def _lifespan(
    container: Container, user_lifespan: Lifespan | None, *, settle_sync: bool
) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        if settle_sync:  # routes added after create_app() too
            settle_sync_endpoints(app)
        await container.start()
        try:
            if user_lifespan is None:
                await _log_problems(app)
                yield None
            else:
                async with user_lifespan(app) as state:
                    # After the user's startup: tables it creates are there to be checked.
                    await _log_problems(app)
                    yield state
        finally:
            await container.stop()

    return lifespan


async def _log_problems(app: FastAPI) -> None:
    """Run the startup checks just before the app serves, logging each problem as a warning."""
    if isinstance(app, TauseStackApp):
        for problem in await run_checks(app, startup=True):
            checks_logger.warning(problem)
