"""``new-app`` and ``generate``: an app, or one component, added to a project from the
templates; nothing is written when anything is refused."""

from __future__ import annotations

import ast
import enum
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ._create import MIGRATIONS, app_context
from ._names import app_name, component_names, snake, with_article
from ._output import BadInput, cli_command, console
from ._project import CONFIG_FILE, Project
from ._scaffold import (
    add_files,
    clashing_names,
    format_python,
    render_file,
    render_tree,
    top_level_names,
    write_atomically,
)
from ._tables import check_new_table

if TYPE_CHECKING:
    from ..settings import Settings


class Kind(enum.StrEnum):
    """What ``generate`` can create, and the app package each goes into."""

    controller = "controller"
    service = "service"
    repository = "repository"
    model = "model"
    task = "task"

    @property
    def package(self) -> str:
        return "repositories" if self is Kind.repository else f"{self.value}s"


def new_app(
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="The app's name, made snake_case (Todos2 gives apps/todos2)."
        ),
    ],
) -> None:
    """Create apps/NAME with its skeleton and test, and add it to installed_apps."""
    from ._yaml import with_installed_app  # ruamel.yaml takes ~80 ms to import: not for --help

    given, name = name, app_name(name)
    project = Project.find()
    folder = project.root / "apps" / name
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{folder} is a file; choose another app name.")
    if folder.exists() and any(folder.iterdir()):
        raise BadInput(f"{folder} already exists and is not empty; choose another app name.")
    if folder.with_suffix(".py").exists():
        raise BadInput(
            f"{folder.with_suffix('.py')} already exists and the new package would hide it; "
            "choose another app name."
        )
    files = render_tree("app", app_context(name))
    _refuse_clashes(files, f"App name '{given}'")
    config = project.root / CONFIG_FILE
    new_config = with_installed_app(config, f"apps.{name}")  # checked before anything is written
    check_new_table(name, project.root, project.settings().installed_apps)
    if not (project.root / "apps" / "__init__.py").exists():
        files[Path("apps/__init__.py")] = '"""The apps of this project."""\n'
    written = add_files(project.root, files, refusal="remove it or choose another app name")
    try:
        write_atomically(config, new_config)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    renamed = f" (app names are snake_case: {given} gives {name})" if given != name else ""
    console.print(f"Created app {name} in {folder}{renamed}; added apps.{name} to installed_apps.")
    format_python(project.root, written)
    for path in written:
        console.print(f"  {path.relative_to(project.root)}")
    _print_migration_steps(project.root, f"create {name}")


def _print_migration_steps(root: Path, message: str) -> None:
    console.print("Create its table in the database:")
    if not (root / MIGRATIONS / "env.py").is_file():
        console.print(f"  {cli_command('db init')}")
    makemigrations = cli_command(f'db makemigrations -m "{message}"')
    console.print(f"  {makemigrations}")
    console.print(f"  {cli_command('db upgrade')}")


def _refuse_clashes(files: dict[Path, str], who: str) -> None:
    for path, clash in clashing_names(files):
        raise BadInput(
            f"{who} would give {clash} two meanings in {path} (a class or function of "
            "yours and an import); choose another name."
        )


def generate(
    kind: Annotated[
        Kind,
        typer.Argument(metavar="KIND", help="controller, service, repository, model or task."),
    ],
    name: Annotated[
        str,
        typer.Argument(
            metavar="NAME", help="Its name, e.g. invoices or InvoiceItems (made snake_case)."
        ),
    ],
    app: Annotated[str, typer.Option("--app", help="The app to add it to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a controller, service, repository, model or task that discovery picks up."""
    project = Project.find()
    names = component_names(name)
    app, settings = _installed_app(project, app, kind)
    app_folder = project.root / "apps" / app
    # Django's convention: unique in the project, where model names may repeat across apps.
    table = f"{app}_{names['name']}"
    context = {"app": app, "app_words": app.replace("_", " "), "table": table, **names}
    if kind is Kind.model:
        replacing = (app_folder / "models" / f"{names['name']}.py").resolve() if force else None
        check_new_table(table, project.root, settings.installed_apps, replacing=replacing)
    if kind is Kind.task and not (app_folder / "tasks" / "__init__.py").is_file():
        files, overwrite = _tasks_module(project.root, app_folder, context), True
    else:
        files, overwrite = _component_files(project.root, app_folder, kind, context), force
    _refuse_clashes(files, f"'{name}'")
    written = add_files(project.root, files, force=overwrite)
    format_python(project.root, [path for path in written if path.name != "tasks.py"])
    created = names["name"] if kind is Kind.task else names["Name"]
    console.print(f"Created {kind.value} {created} in the {app} app:")
    for path in written:
        console.print(f"  {path.relative_to(project.root)}")
    if kind is Kind.model:
        _print_migration_steps(project.root, f"create {names['name']}")


def _installed_app(project: Project, given: str, kind: Kind) -> tuple[str, Settings]:
    """The snake_case name of the app ``--app`` names, which must exist and be installed, and
    the project's settings."""
    app = snake(given)
    if not app.isidentifier():
        raise BadInput(f"--app '{given}' is not an app name; pass the folder name under apps/.")
    app_folder = project.root / "apps" / app
    if not (app_folder / "__init__.py").is_file():
        known_apps = sorted(
            path.parent.name for path in (project.root / "apps").glob("*/__init__.py")
        )
        listed = ", ".join(known_apps) or "none yet"
        raise BadInput(
            f"No app '{app}' in this project ({app_folder}); apps: {listed}. "
            "Create it with `tausestack new-app NAME`."
        )
    settings = project.settings()
    if f"apps.{app}" not in settings.installed_apps:
        raise BadInput(
            f"apps.{app} is not in installed_apps in {CONFIG_FILE}, so discovery would not find "
            "the new file; add it there first."
        )
    if kind.package not in settings.discovery.modules:
        raise BadInput(
            f"'{kind.package}' is not in the discovery.modules setting, so discovery would not "
            "import the new file; add it there first."
        )
    return app, settings


def _component_files(
    root: Path, app_folder: Path, kind: Kind, context: dict[str, Any]
) -> dict[Path, str]:
    """The file of a controller, service, repository or model, and its package's __init__."""
    package = app_folder / kind.package
    module_file = app_folder / f"{kind.package}.py"
    app = app_folder.name
    if module_file.exists():
        raise BadInput(
            f"{module_file.relative_to(root)} is a single module; generate adds one file "
            f"per component to a package. Move it to apps/{app}/{kind.package}/__init__.py, or "
            "write the new class in it yourself."
        )
    if kind is Kind.repository:
        _require_model(root, app_folder, context)
    relative = package.relative_to(root)
    content = render_file(f"generate/{kind.value}.py.jinja", context)
    files = {relative / f"{context['name']}.py": content}
    if not (package / "__init__.py").exists():
        files[relative / "__init__.py"] = f'"""{kind.package.capitalize()} of the {app} app."""\n'
    return files


def _require_model(root: Path, app_folder: Path, context: dict[str, Any]) -> None:
    """A repository is typed by its model: ``models/NAME.py`` must define class ``Name``."""
    model_file = app_folder / "models" / f"{context['name']}.py"
    if not model_file.is_file() or f"class {context['Name']}(" not in model_file.read_text(
        encoding="utf-8"
    ):
        raise BadInput(
            f"A repository stores a model: {model_file.relative_to(root)} must define "
            f"class {context['Name']}. Create it first with `tausestack generate model "
            f"{context['name']} --app {app_folder.name}`."
        )


def _tasks_module(root: Path, app_folder: Path, context: dict[str, Any]) -> dict[Path, str]:
    """``apps/APP/tasks.py`` with the new ``@task`` function: created, or with it appended."""
    path = app_folder / "tasks.py"
    relative = path.relative_to(root)
    if not path.exists():
        return {relative: render_file("generate/task.py.jinja", context)}
    source = path.read_bytes().decode("utf-8")  # the line endings as they are (CRLF too)
    newline = "\r\n" if "\r\n" in source else "\n"
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise BadInput(
            f"{relative} does not parse ({exc.msg}, line {exc.lineno}); fix it first."
        ) from None
    name = context["name"]
    if name in set(top_level_names(module)):
        raise BadInput(
            f"{relative} already has {with_article(name)}; choose another name for the task."
        )
    lines = source.rstrip("\r\n").splitlines()
    if "task" not in set(top_level_names(module)):
        # After the last top-level import or the docstring (`ruff check --fix` sorts it).
        imports = [node for node in module.body if isinstance(node, ast.Import | ast.ImportFrom)]
        docstring = module.body[:1] if ast.get_docstring(module) else []
        after = imports[-1:] or docstring
        at = (after[0].end_lineno or 0) if after else 0
        lines[at:at] = (
            ["", "from tausestack.sdk.tasks import task"]
            if at
            else [
                "from tausestack.sdk.tasks import task",
                "",
            ]
        )
    function = render_file("generate/task_function.py.jinja", context)
    appended = "\n".join(lines).strip("\n") + "\n\n\n" + function
    return {relative: appended.replace("\n", newline)}
