"""``routes``, ``inspect``, ``check``, ``config show`` and ``version``: looking at a project."""

from __future__ import annotations

import enum
import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

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
    from rich.console import Console

    from ..app import TauseStackApp
    from ..di._graph import Node

DEFAULT = "main:app"


class GraphFormat(enum.StrEnum):
    """Formats ``inspect --graph`` writes."""

    mermaid = "mermaid"
    dot = "dot"


def routes(app: AppOption = DEFAULT) -> None:
    """List every route: method, path, handler, app and what it requires (auth, roles)."""
    from ..web._checks import iter_endpoints

    application = Project.find().load_app(app)
    apps = _app_names(application)
    rows: dict[tuple[str, str], list[Any]] = {}  # one row per path and handler, methods joined
    for method, path, context in iter_endpoints(application):
        function = getattr(context.endpoint, "__func__", context.endpoint)
        module = str(getattr(function, "__module__", "") or "")
        builtin = module.startswith(("fastapi.", "starlette."))
        handler = "FastAPI (built in)" if builtin else getattr(function, "__qualname__", "?")
        row = rows.setdefault((path, handler), [[], _owner(module, apps), _auth(context)])
        row[0].append(method)
    table = Table("method", "path", "handler", "app", "auth", title="Routes")
    for (path, handler), (methods, owner, auth) in rows.items():
        table.add_row(", ".join(methods), path, handler, owner, auth)
    _wide().print(table)


def _app_names(application: Any) -> list[str]:
    discovery = getattr(application, "discovery", None)
    return [app.name for app in discovery.apps] if discovery is not None else []


def _owner(module: str, apps: list[str]) -> str:
    matches = [app for app in apps if module == app or module.startswith(app + ".")]
    if matches:
        return max(matches, key=len).rpartition(".")[2]
    return "fastapi" if module.startswith(("fastapi.", "starlette.")) else module or "-"


def _auth(context: Any) -> str:
    """What a route asks of its caller: ``roles: …`` and ``permissions: …``, else ``required``
    or ``optional`` (a user), from TauseStack's auth dependencies (``auth_required=``,
    ``roles=``, ``CurrentUser``, ``require_permissions()``…); then the names of any other
    security schemes; ``-`` for none."""
    from fastapi.security.base import SecurityBase

    # Our guards are instances of the auth module's dependency; no route has one unless the
    # module was imported while the app was built.
    integration = sys.modules.get("tausestack.sdk.auth._integration")
    guard_type: Any = getattr(integration, "Authenticate", ())
    required, optional = False, False
    roles: dict[str, None] = {}  # ordered sets: controller's first, then the route's
    permissions: dict[str, None] = {}
    schemes: set[str] = set()
    for call in _dependency_calls(getattr(context, "dependant", None)):
        if isinstance(call, guard_type):
            required, optional = required or call.required, optional or not call.required
            roles.update(dict.fromkeys(call.roles))
            permissions.update(dict.fromkeys(call.permissions))
        elif isinstance(call, SecurityBase):
            schemes.add(call.scheme_name)
    needs = [f"roles: {', '.join(roles)}"] if roles else []
    needs += [f"permissions: {', '.join(permissions)}"] if permissions else []
    if not needs and (required or optional):
        needs.append("required" if required else "optional")
    return "; ".join([*needs, *sorted(schemes)]) or "-"


def _dependency_calls(dependant: Any) -> Iterator[Any]:
    for sub in getattr(dependant, "dependencies", ()):
        yield sub.call
        yield from _dependency_calls(sub)


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
    """Check the project without serving it: settings, apps, wiring, routes, database.

    Loads the app as `run` would (settings, discovery, the container, the routes), then runs
    the checks of the SDK modules it uses: for the database, unapplied migrations and missing
    tables or columns. Lists every problem found, with exit status 1; or prints a summary.
    """
    import asyncio

    from .._autoconfig import run_checks

    project = Project.find()
    try:
        application = project.load_tausestack_app(app)
    except TauseStackError as exc:
        problems = [str(problem) for problem in getattr(exc, "problems", [])] or [str(exc)]
        heading = str(exc).splitlines()[0] if getattr(exc, "problems", None) else None
        _fail_with_problems(project.root, problems, heading)
    problems = asyncio.run(run_checks(application, startup=False))
    if problems:
        _fail_with_problems(project.root, problems, None)
    summary = _summary(application)
    console.print(f"No problems found in {project.root}: {summary}.")


def _fail_with_problems(root: Path, problems: list[str], heading: str | None) -> NoReturn:
    """List the problems on stderr and exit with the project-problem status."""
    errors.print(f"[bold red]{len(problems)} problem(s)[/] in {escape(str(root))}:", markup=True)
    if heading:
        errors.print(heading)
    for problem in problems:
        errors.print(f"  - {problem}")
    raise typer.Exit(PROJECT_PROBLEM)


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
    for path, value, secret in _leaves(settings):
        shown = _redact(value, secret=secret)
        text = "null" if shown is None else shown if isinstance(shown, str) else repr(shown)
        table.add_row(".".join(path), text, settings.source_of(*path))
    _wide().print(table)


def _wide() -> Console:
    """The console for tables: piped or captured output keeps one line per row (for grep),
    whatever its width."""
    return console if console.is_terminal else plain_console(width=10_000)


def _leaves(
    value: Any, prefix: tuple[str, ...] = (), secret: bool = False
) -> Iterator[tuple[tuple[str, ...], Any, bool]]:
    """Every setting that is not a section or a mapping, with its path and whether its name
    (or the name of a mapping holding it: ``api_tokens.github``) says it is secret (see
    ``tausestack._redaction``). A section's name says nothing of its values
    (``secrets.backend``)."""
    from pydantic import BaseModel

    from .._redaction import public_fields, secret_name

    if isinstance(value, BaseModel):
        public = public_fields(value)
        for name in [*type(value).model_fields, *(value.model_extra or {})]:
            field = getattr(value, name)
            named = name not in public and not isinstance(field, BaseModel)
            yield from _leaves(
                field, (*prefix, name), secret or (named and secret_name(name, field))
            )
    elif isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _leaves(item, (*prefix, str(key)), secret or secret_name(str(key), item))
    else:
        yield prefix, value, secret


def _redact(value: Any, *, secret: bool) -> Any:
    """``value`` as plain data to show, its secrets replaced by ``********`` (``SecretStr``
    values, scalars under a secret name when ``secret`` says so, URL passwords and secret
    query values everywhere); ``${secret:NAME}`` references are shown as written."""
    from .._redaction import redacted_data

    return redacted_data(value, secret=secret)


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
