"""``routes``, ``inspect``, ``check``, ``config show`` and ``version``: looking at a project."""

from __future__ import annotations

import enum
import platform
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import TauseStackError
from ._output import PROJECT_PROBLEM, BadInput, console, errors, plain_console
from ._project import Project
from ._serve import AppOption

# The commands below load the project's app; FastAPI and the framework are imported by the command
# that needs them, so `--help`, `version` and the scaffolding commands start without them.
if TYPE_CHECKING:
    from ..app import TauseStackApp
    from ..di._graph import Node

DEFAULT = "main:app"
SECRET_KEY = re.compile(r"password|passwd|secret|token|api_?key|private_?key|credential", re.I)
URL_PASSWORD = re.compile(r"(?P<prefix>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@\s]+)@", re.I)
REDACTED = "********"


class GraphFormat(enum.StrEnum):
    """Formats ``inspect --graph`` writes."""

    mermaid = "mermaid"
    dot = "dot"


def routes(app: AppOption = DEFAULT) -> None:
    """List every route: method, path, handler, app and auth requirements."""
    from ..web._checks import iter_endpoints

    application = Project.find().load_app(app)
    apps = _app_names(application)
    rows: dict[tuple[str, str], list[Any]] = {}  # one row per path and handler, methods joined
    for method, path, context in iter_endpoints(application):
        function = getattr(context.endpoint, "__func__", context.endpoint)
        module = str(getattr(function, "__module__", "") or "")
        builtin = module.startswith(("fastapi.", "starlette."))
        handler = "FastAPI (built in)" if builtin else getattr(function, "__qualname__", "?")
        row = rows.setdefault((path, handler), [[], _owner(module, apps), _auth(context) or "-"])
        row[0].append(method)
    table = Table("method", "path", "handler", "app", "auth", title="Routes")
    for (path, handler), (methods, owner, auth) in rows.items():
        table.add_row(", ".join(methods), path, handler, owner, auth)
    console.print(table)


def _app_names(application: Any) -> list[str]:
    discovery = getattr(application, "discovery", None)
    return [app.name for app in discovery.apps] if discovery is not None else []


def _owner(module: str, apps: list[str]) -> str:
    matches = [app for app in apps if module == app or module.startswith(app + ".")]
    if matches:
        return max(matches, key=len).rpartition(".")[2]
    return "fastapi" if module.startswith(("fastapi.", "starlette.")) else module or "-"


def _auth(context: Any) -> str:
    dependant = getattr(context, "dependant", None)
    schemes = sorted(set(_security_schemes(dependant))) if dependant is not None else []
    return ", ".join(schemes)


def _security_schemes(dependant: Any) -> Iterator[str]:
    from fastapi.security.base import SecurityBase

    for sub in getattr(dependant, "dependencies", ()):
        if isinstance(sub.call, SecurityBase):
            yield sub.call.scheme_name
        yield from _security_schemes(sub)


def inspect(
    app: AppOption = DEFAULT,
    graph: Annotated[
        GraphFormat | None, typer.Option("--graph", help="Write the dependency graph instead.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File for --graph (default: stdout).")
    ] = None,
) -> None:
    """Show the components of each app with scope and dependencies, or their graph."""
    if output is not None and graph is None:
        raise BadInput("--output writes a graph; pass --graph mermaid or --graph dot with it.")
    destination = output.resolve() if output is not None else None  # before moving to the root
    application = Project.find().load_tausestack_app(app)
    nodes = [node for node in application.container.graph.order if _shown(node)]
    if graph is not None:
        text = _mermaid(nodes) if graph is GraphFormat.mermaid else _dot(nodes)
        if destination is None:
            console.print(text)
        else:
            destination.write_text(text, encoding="utf-8")
            console.print(
                f"Wrote the {graph.value} graph of {len(nodes)} components to {destination}."
            )
        return
    for app_name in [*_app_names(application), None]:
        members = [node for node in nodes if node.provider.app == app_name]
        if not members:
            continue
        table = Table(
            "component", "kind", "scope", "provides", "depends on", title=app_name or "other"
        )
        for node in members:
            provider = node.provider
            provides = ", ".join(str(key) for key in provider.keys[1:]) or "-"
            needs = ", ".join(
                f"{dependency.name}: {_label(target) if target else 'default'}"
                for dependency, target in node.edges
            )
            table.add_row(
                _label(node), provider.spec.kind, provider.scope.value, provides, needs or "-"
            )
        console.print(table)


def _shown(node: Node) -> bool:
    from ..di._providers import ProviderKind

    return node.provider.kind in (ProviderKind.CLASS, ProviderKind.FUNCTION)


def _label(node: Node) -> str:
    factory = node.provider.factory
    return getattr(factory, "__qualname__", None) or node.provider.label


def _graph_labels(nodes: list[Node]) -> dict[Node, str]:
    """Class names, with the module added where two components share a name."""
    counts: dict[str, int] = {}
    for node in nodes:
        counts[_label(node)] = counts.get(_label(node), 0) + 1
    return {
        node: node.provider.label if counts[_label(node)] > 1 else _label(node) for node in nodes
    }


def _mermaid(nodes: list[Node]) -> str:
    ids = {node: f"n{index}" for index, node in enumerate(nodes)}
    labels = _graph_labels(nodes)
    lines = ["graph LR"]
    lines += [f'    {ids[node]}["{labels[node]} ({node.provider.scope.value})"]' for node in nodes]
    for node in nodes:
        for dependency, target in node.edges:
            if target in ids:
                lines.append(f"    {ids[node]} -->|{dependency.name}| {ids[target]}")
    return "\n".join(lines) + "\n"


def _dot(nodes: list[Node]) -> str:
    ids = {node: f"n{index}" for index, node in enumerate(nodes)}
    labels = _graph_labels(nodes)
    lines = ["digraph tausestack {", "    rankdir=LR;", "    node [shape=box];"]
    for node in nodes:
        scope = node.provider.scope.value
        lines.append(f'    {ids[node]} [label="{labels[node]}\\n{scope}"];')
    for node in nodes:
        for dependency, target in node.edges:
            if target in ids:
                lines.append(f'    {ids[node]} -> {ids[target]} [label="{dependency.name}"];')
    return "\n".join([*lines, "}"]) + "\n"


def check(app: AppOption = DEFAULT) -> None:
    """Validate settings, discovery, the container and the routes without serving."""
    project = Project.find()
    try:
        application = project.load_tausestack_app(app)
    except TauseStackError as exc:
        problems = [str(problem) for problem in getattr(exc, "problems", [])] or [str(exc)]
        root = escape(str(project.root))
        errors.print(f"[bold red]{len(problems)} problem(s)[/] in {root}:", markup=True)
        if getattr(exc, "problems", None):
            errors.print(str(exc).splitlines()[0])
        for problem in problems:
            errors.print(f"  - {problem}")
        raise typer.Exit(PROJECT_PROBLEM) from None
    summary = _summary(application)
    console.print(f"No problems found in {project.root}: {summary}.")


def _summary(application: TauseStackApp) -> str:
    from ..web._checks import iter_endpoints

    apps = len(application.discovery.apps)
    components = sum(1 for node in application.container.graph.order if _shown(node))
    endpoints = sum(1 for _ in iter_endpoints(application))
    return (
        f"profile {application.settings.profile}, {apps} app(s), {components} component(s), "
        f"{endpoints} route(s)"
    )


def config_show() -> None:
    """Show every setting with the source of its value; secrets are redacted."""
    from ..discovery import discover

    project = Project.find()
    project.activate()
    settings = project.settings()
    settings = settings.with_sections(
        discover(settings.installed_apps, settings.discovery.modules).sections
    )
    table = Table("key", "value", "source", title=f"Settings (profile {settings.profile})")
    for path, value in _leaves(settings.model_dump(mode="json")):
        table.add_row(".".join(path), _redact(path, value), settings.source_of(*path))
    # Piped or captured output keeps one line per setting (for grep), whatever its width.
    wide = console if console.is_terminal else plain_console(width=10_000)
    wide.print(table)


def _leaves(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, (*prefix, str(key)))
    else:
        yield prefix, data


def _redact(path: tuple[str, ...], value: Any) -> str:
    if value is None:
        return "null"
    if any(SECRET_KEY.search(part) for part in path):
        return REDACTED
    text = value if isinstance(value, str) else repr(value)
    return URL_PASSWORD.sub(lambda match: match.group("prefix") + REDACTED + "@", text)


def version() -> None:
    """Print the versions of TauseStack, FastAPI and Python."""
    console.print(version_line())


def version_line() -> str:
    """``tausestack X (FastAPI Y, Python Z)``, read from the installed metadata: importing
    FastAPI to ask would take longer than the rest of the command."""
    from importlib.metadata import version as installed_version

    from .. import __version__

    return (
        f"tausestack {__version__} (FastAPI {installed_version('fastapi')}, Python "
        f"{platform.python_version()})"
    )
