"""``@Controller``: a class whose decorated methods become FastAPI routes."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar, overload

from fastapi import params

from .._naming import describe_callable
from ..di._keys import Scope
from ..di._markers import SPEC_ATTRIBUTE, ComponentSpec, make_spec
from ..errors import ControllerDefinitionError
from ._auth import auth_dependencies
from ._routes import RouteSpec, route_specs

__all__ = ["Controller", "ControllerOptions", "controller_routes"]

T = TypeVar("T")


@dataclass(frozen=True)
class ControllerOptions:
    """What ``@Controller(...)`` applies to every route of the class."""

    prefix: str = ""
    tags: tuple[str | Enum, ...] = ()
    dependencies: tuple[params.Depends, ...] = ()
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)
    deprecated: bool | None = None
    include_in_schema: bool = True


@overload
def Controller(cls: type[T], /) -> type[T]: ...


@overload
def Controller(
    prefix: str = "",
    /,
    *,
    tags: Sequence[str | Enum] | None = None,
    dependencies: Sequence[params.Depends] | None = None,
    responses: dict[int | str, dict[str, Any]] | None = None,
    deprecated: bool | None = None,
    include_in_schema: bool = True,
    scope: Scope | str = Scope.SINGLETON,
    profiles: str | Iterable[str] | None = None,
    auth_required: bool = False,
    roles: Sequence[str] | None = None,
) -> Callable[[type[T]], type[T]]: ...


def Controller(
    prefix: Any = "",
    /,
    *,
    tags: Sequence[str | Enum] | None = None,
    dependencies: Sequence[params.Depends] | None = None,
    responses: dict[int | str, dict[str, Any]] | None = None,
    deprecated: bool | None = None,
    include_in_schema: bool = True,
    scope: Scope | str = Scope.SINGLETON,
    profiles: str | Iterable[str] | None = None,
    auth_required: bool = False,
    roles: Sequence[str] | None = None,
) -> Any:
    """Mark a class as a controller: its ``@get``/``@post``/… methods become routes.

    The controller is built once by the container (constructor injection, like a service) and
    its bound methods are mounted, so a singleton controller costs nothing per request.
    Parameters of route methods follow FastAPI exactly; ``Inject[T]`` parameters are resolved
    from the container. ``scope="request"`` builds the controller per request so it may depend
    on request-scoped objects::

        @Controller("/users", tags=["users"])
        class UserController:
            def __init__(self, users: UserService) -> None:
                self.users = users

            @get("/{user_id}")
            async def read(self, user_id: int) -> UserRead: ...

    Args:
        prefix: path prefix of every route (``"/users"``); empty for none.
        tags: OpenAPI tags added to every route.
        dependencies: FastAPI dependencies run before every route.
        responses: extra OpenAPI responses for every route.
        deprecated: mark every route deprecated.
        include_in_schema: hide every route from OpenAPI when False.
        scope: ``"singleton"`` (default) or ``"request"``.
        profiles: register the controller only in these profiles (``"!prod"`` excludes).
        auth_required: every route needs a valid bearer token (401 otherwise; docs/auth.md).
        roles: every route needs a user with all these roles (403 otherwise); implies
            ``auth_required``. Routes may add their own ``roles=``.
    """
    if isinstance(prefix, type):
        return _mark(prefix, ControllerOptions(), Scope.SINGLETON, None)
    if not isinstance(prefix, str):
        raise ControllerDefinitionError(
            f"@Controller takes a path prefix string first, got {prefix!r}."
        )
    guards = auth_dependencies(auth_required, roles, f"@Controller({prefix!r})")
    options = ControllerOptions(
        prefix=prefix,
        tags=tuple(tags or ()),
        dependencies=(*guards, *(dependencies or ())),
        responses=dict(responses or {}),
        deprecated=deprecated,
        include_in_schema=include_in_schema,
    )

    def decorate(cls: type[T]) -> type[T]:
        return _mark(cls, options, scope, profiles)

    return decorate


def _mark(cls: type[T], options: ControllerOptions, scope: Scope | str, profiles: Any) -> type[T]:
    name = describe_callable(cls)
    if not isinstance(cls, type):
        raise ControllerDefinitionError(f"@Controller decorates classes; {name} is not one.")
    prefix = options.prefix
    if prefix == "/":
        raise ControllerDefinitionError(
            f"@Controller('/') on {name}: leave the prefix out (or pass '') for routes at the "
            "root; a prefix must not end with '/'."
        )
    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        raise ControllerDefinitionError(
            f"@Controller({prefix!r}) on {name}: a prefix must start with '/' and not end "
            f"with '/', e.g. '/{prefix.strip('/')}'."
        )
    parsed_scope = Scope.parse(scope, name)
    if parsed_scope is Scope.TRANSIENT:
        raise ControllerDefinitionError(
            f"@Controller on {name}: scope='transient' makes no sense for a controller; use "
            "'singleton' (built once) or 'request' (built per request)."
        )
    spec: ComponentSpec = make_spec(
        cls,
        "controller",
        scope=parsed_scope,
        provides=None,
        qualifier=None,
        primary=False,
        profiles=profiles,
        extra={"controller": options},
    )
    setattr(cls, SPEC_ATTRIBUTE, spec)
    if not controller_routes(cls):
        raise ControllerDefinitionError(
            f"Controller {name} has no routes. Decorate its methods with @get, @post, @put, "
            "@patch, @delete, @head, @options or @websocket."
        )
    return cls


def controller_routes(cls: type) -> list[tuple[str, Callable[..., Any], RouteSpec]]:
    """Every ``(method name, function, route)`` of a controller, base classes first.

    A subclass that redefines a method replaces the base class's routes for that name.
    """
    functions: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for attribute, value in vars(klass).items():
            if inspect.isfunction(value):
                functions[attribute] = value
            elif attribute in functions and not inspect.isfunction(value):
                del functions[attribute]
    return [
        (attribute, function, spec)
        for attribute, function in functions.items()
        for spec in route_specs(function)
    ]
