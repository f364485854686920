"""``init``: a new project from the templates, written all at once or not at all.

``new-app`` and ``generate`` (``_generate.py``) add to it from the same templates."""

from __future__ import annotations

import datetime
import json
import shlex
import shutil
import subprocess
import uuid
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer

from ._names import check_name, pascal, singular
from ._output import console
from ._scaffold import create_tree, render_tree

STARTER_APP = "notes"
MIGRATIONS = Path("migrations")


def app_context(app: str) -> dict[str, Any]:
    """Template variables for an app named ``app`` (snake_case)."""
    model_module = singular(app)
    model = pascal(model_module)
    return {
        "app": app,
        "App": pascal(app),
        "app_words": app.replace("_", " "),
        "model_module": model_module,
        "model": model,
        "model_words": model_module.replace("_", " "),
        "table": app,  # unique in the project, where model names may repeat across apps
        "route": app.replace("_", "-"),
    }


def tausestack_origin() -> Path | None:
    """The local checkout or wheel TauseStack was installed from, or None (an index install).

    pip records a direct URL install in the distribution's ``direct_url.json`` (PEP 610); an
    install from an index has none. A project made from a local copy must depend on that copy,
    as no index this machine reaches may have TauseStack.
    """
    try:
        recorded = metadata.distribution("tausestack").read_text("direct_url.json")
    except metadata.PackageNotFoundError:  # imported from a source tree, not installed
        return None
    try:
        url = json.loads(recorded or "{}").get("url")
    except (ValueError, AttributeError):
        return None
    if not isinstance(url, str) or urlparse(url).scheme != "file":
        return None
    from urllib.request import url2pathname  # http.client and email: only when init runs

    return Path(url2pathname(urlparse(url).path))  # file:///C:/x is C:\x on Windows


def requirement(origin: Path | None, extras: str = "") -> str:
    """The PEP 508 requirement on TauseStack: a direct reference to ``origin``, or a range."""
    from .. import __version__

    name = f"tausestack[{extras}]" if extras else "tausestack"
    return f"{name} @ {origin.as_uri()}" if origin else f"{name}>={__version__}"


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
    """Create a new project: settings, main.py, a starter app with tests and migrations."""
    check_name("Project", name)
    target = (path or Path.cwd() / name).resolve()
    origin = tausestack_origin()
    gone = origin if origin is not None and not origin.exists() else None
    if gone is not None:
        origin = None
    create_tree(target, _project_files(name, origin))
    if git:
        _git_init(target)
    console.print(f"Created project {name} in {target}.")
    if origin is not None:
        console.print(
            f"It depends on TauseStack at {origin}, the local copy this command runs from "
            "(README.md says how to switch to a published release)."
        )
    elif gone is not None:
        console.print(
            f"TauseStack was installed from {gone}, a local copy that no longer exists; the "
            f"project depends on {requirement(None)} from your package index."
        )
    where = shlex.quote(str(target if path else Path(name)))
    console.print("Next:")
    for step in next_steps(where):
        console.print(f"  {step}")


def _project_files(name: str, origin: Path | None) -> dict[Path, str]:
    """Every file of a new project, rendered: its own, the starter app's and migrations/."""
    today = datetime.datetime.now(datetime.UTC).date()
    revision = uuid.uuid4().hex[-12:]  # as Alembic makes them
    context = {
        "project": name,
        "project_dist": name.replace("_", "-"),
        # JSON strings are TOML basic strings.
        "tausestack_dependency": json.dumps(requirement(origin)),
        "tausestack_postgres": json.dumps(requirement(origin, "postgres")),
        "tausestack_auth": json.dumps(requirement(origin, "auth")),
        "tausestack_origin": str(origin or ""),
        "tausestack_requirement": requirement(origin),
        "tausestack_range": requirement(None),
        "steps": next_steps(".")[1:],
        "revision": revision,
        "revision_date": today.isoformat(),
        "revision_file": f"{today:%Y_%m_%d}_{revision}_create_{STARTER_APP}",
        **app_context(STARTER_APP),
    }
    migrations = render_tree("migrations", {"project": name})
    return {
        **render_tree("project", context),
        **render_tree("app", context),
        **{MIGRATIONS / relative: content for relative, content in migrations.items()},
    }


def next_steps(where: str) -> list[str]:
    """What to type after ``init``, in order; each line works as printed."""
    return [
        f"cd {where}",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'",
        ".venv/bin/pytest                  # the starter app's tests",
        f".venv/bin/tausestack db upgrade   # creates app.db with the {STARTER_APP} table",
        ".venv/bin/tausestack run          # serves http://127.0.0.1:8000/docs",
    ]


def _git_init(target: Path) -> None:
    git = shutil.which("git")
    if git is None:
        console.print("git is not installed: skipped `git init` (pass --no-git to silence this).")
        return
    subprocess.run([git, "init", "--quiet", str(target)], check=False)
