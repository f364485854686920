"""``init``, ``new-app`` and ``generate``: new files from the templates, never half-written."""

from __future__ import annotations

import enum
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated, Any

import typer

from ._names import check_app_name, check_name, component_names, pascal, singular
from ._output import BadInput, console
from ._project import CONFIG_FILE, Project
from ._scaffold import add_files, create_tree, render_file, render_tree, write_atomically

STARTER_APP = "notes"


class Kind(enum.StrEnum):
    """What ``generate`` can create, and the app package each goes into."""

    controller = "controller"
    service = "service"
    repository = "repository"
    model = "model"

    @property
    def package(self) -> str:
        return "repositories" if self is Kind.repository else f"{self.value}s"


def app_context(app: str) -> dict[str, Any]:
    """Template variables for an app named ``app``."""
    model_module = singular(app)
    return {
        "app": app,
        "App": pascal(app),
        "model_module": model_module,
        "model": pascal(model_module),
        "route": app.replace("_", "-"),
    }


def init(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The project's name: a Python identifier.")
    ],
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Folder to create the project in (default: ./NAME)."),
    ] = None,
    git: Annotated[bool, typer.Option("--git/--no-git", help="Run `git init` in it.")] = True,
) -> None:
    """Create a new project: settings, main.py, a starter app with tests, README and ROADMAP."""
    from .. import __version__

    check_name("Project", name)
    target = (path or Path.cwd() / name).resolve()
    context = {
        "project": name,
        "project_dist": name.replace("_", "-"),
        "tausestack_version": __version__,
        **app_context(STARTER_APP),
    }
    files = {**render_tree("project", context), **render_tree("app", context)}
    create_tree(target, files)
    if git:
        _git_init(target)
    where = shlex.quote(str(target if path else Path(name)))
    console.print(f"Created project {name} in {target}. Next:")
    console.print(
        f"  cd {where}\n"
        "  python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'\n"
        "  .venv/bin/tausestack run     # http://127.0.0.1:8000/docs\n"
        "  .venv/bin/pytest",
    )


def _git_init(target: Path) -> None:
    git = shutil.which("git")
    if git is None:
        console.print("git is not installed: skipped `git init` (pass --no-git to silence this).")
        return
    subprocess.run([git, "init", "--quiet", str(target)], check=False)


def new_app(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The app's name: a Python identifier.")
    ],
) -> None:
    """Create apps/NAME with its skeleton and test, and add it to installed_apps."""
    from ._yaml import with_installed_app  # ruamel.yaml takes ~80 ms to import: not for --help

    check_app_name(name)
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
    config = project.root / CONFIG_FILE
    new_config = with_installed_app(config, f"apps.{name}")  # checked before anything is written
    files = render_tree("app", app_context(name))
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
    console.print(f"Created app {name} in {folder}; added apps.{name} to installed_apps.")
    for path in written:
        console.print(f"  {path.relative_to(project.root)}")


def generate(
    kind: Annotated[
        Kind, typer.Argument(metavar="KIND", help="controller, service, repository or model.")
    ],
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Its name, e.g. invoices or InvoiceItems.")
    ],
    app: Annotated[str, typer.Option("--app", help="The app to add it to.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a controller, service, repository or model file that discovery picks up."""
    from ..settings import Settings

    project = Project.find()
    names = component_names(name)
    if not app.isidentifier():
        raise BadInput(f"--app '{app}' is not an app name; pass the folder name under apps/.")
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
    settings = Settings(config_dir=project.root)
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
    package = app_folder / kind.package
    module_file = app_folder / f"{kind.package}.py"
    if module_file.exists():
        raise BadInput(
            f"{module_file.relative_to(project.root)} is a single module; generate adds one file "
            f"per component to a package. Move it to apps/{app}/{kind.package}/__init__.py, or "
            "write the new class in it yourself."
        )
    relative = package.relative_to(project.root)
    content = render_file(f"generate/{kind.value}.py.jinja", {"app": app, **names})
    files = {relative / f"{names['name']}.py": content}
    if not (package / "__init__.py").exists():
        files[relative / "__init__.py"] = f'"""{kind.package.capitalize()} of the {app} app."""\n'
    written = add_files(project.root, files, force=force)
    console.print(f"Created {kind.value} {names['Name']} in the {app} app:")
    for path in written:
        console.print(f"  {path.relative_to(project.root)}")
