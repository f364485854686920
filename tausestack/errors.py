"""Every error TauseStack raises, in one place.

All of them inherit from :class:`TauseStackError`, and every message says what was wrong, where,
and how to fix it. Errors that can come in groups (invalid settings, an invalid dependency graph)
carry the individual problems in ``.problems`` so tools such as ``tausestack check`` can list them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AmbiguousProviderError",
    "AppImportError",
    "AppNotFoundError",
    "AppNotStartedError",
    "CircularDependencyError",
    "ContainerValidationError",
    "ControllerDefinitionError",
    "DependencyError",
    "DiscoveryError",
    "MissingProviderError",
    "OperationIdConflictError",
    "ProviderDefinitionError",
    "ResolutionError",
    "RouteConflictError",
    "RouteError",
    "ScopeMismatchError",
    "SettingsError",
    "TauseStackError",
]


class TauseStackError(Exception):
    """Base class of every error raised by TauseStack."""


# -- settings -----------------------------------------------------------------------------------


class SettingsError(TauseStackError):
    """Settings could not be loaded or did not validate.

    ``problems`` holds one line per invalid key, each naming the key, where the value came from
    and what was expected.
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = list(problems)
        if self.problems:
            message = message + "\n" + "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(message)


# -- discovery ----------------------------------------------------------------------------------


class DiscoveryError(TauseStackError):
    """An entry of ``installed_apps`` could not be loaded."""


class AppNotFoundError(DiscoveryError):
    """An entry of ``installed_apps`` names a module that does not exist."""


class AppImportError(DiscoveryError):
    """One of an installed app's modules raised while it was imported.

    The original exception is chained (``__cause__``) and its traceback is part of the message.
    """

    def __init__(self, message: str, *, app: str, module: str) -> None:
        self.app = app
        self.module = module
        super().__init__(message)


# -- dependency injection -----------------------------------------------------------------------


class DependencyError(TauseStackError):
    """Base class of the dependency-injection errors."""


class ProviderDefinitionError(DependencyError):
    """A component or provider function cannot be used as written (no type hints, bad scope…)."""


class MissingProviderError(DependencyError):
    """A component needs a type that nothing provides."""


class AmbiguousProviderError(DependencyError):
    """Several providers match one dependency and nothing says which one to use."""


class CircularDependencyError(DependencyError):
    """Components depend on each other in a cycle; the message prints the whole chain."""


class ScopeMismatchError(DependencyError):
    """A longer-lived component depends on a shorter-lived one (a singleton on a request scope)."""


class ResolutionError(DependencyError):
    """A dependency could not be produced at run time (wrong context, a provider that raised)."""


class AppNotStartedError(ResolutionError):
    """A component that lives for the application lifespan was used before the app started."""


class ContainerValidationError(DependencyError):
    """The dependency graph has several problems; ``problems`` holds each of them."""

    def __init__(self, problems: Sequence[DependencyError]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  {index}. {problem}" for index, problem in enumerate(problems, 1))
        super().__init__(f"The dependency graph has {len(self.problems)} problems:\n{lines}")


# -- web ----------------------------------------------------------------------------------------


class RouteError(TauseStackError):
    """Base class of the routing errors."""


class ControllerDefinitionError(RouteError):
    """A controller or one of its route methods is declared in a way that cannot work."""


class RouteConflictError(RouteError):
    """Two handlers answer the same method and path."""


class OperationIdConflictError(RouteError):
    """Two routes were given the same OpenAPI operation id."""
