"""`tausestack init`: what a new project holds, name checks, and all-or-nothing rendering."""

import json
import os
import re
import shutil
import stat
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import tausestack
from tausestack import __version__
from tausestack.cli import _scaffold
from tausestack.cli._create import tausestack_origin
from tests.cli.conftest import Cli, tree

EXPECTED_FILES = {
    ".env.example",
    ".gitignore",
    "README.md",
    "ROADMAP.md",
    "application-prod.yaml",
    "application.yaml",
    "apps/__init__.py",
    "apps/notes/__init__.py",
    "apps/notes/controllers/__init__.py",
    "apps/notes/controllers/note.py",
    "apps/notes/models/__init__.py",
    "apps/notes/models/note.py",
    "apps/notes/repositories/__init__.py",
    "apps/notes/repositories/note.py",
    "apps/notes/services/__init__.py",
    "apps/notes/services/note.py",
    "apps/notes/settings.py",
    "main.py",
    "migrations/README",
    "migrations/env.py",
    "migrations/script.py.mako",
    "migrations/versions/.gitkeep",
    "migrations/versions/<date>_<revision>_create_notes.py",
    "pyproject.toml",
    "tests/__init__.py",
    "tests/conftest.py",
    "tests/test_notes.py",
}
#: The checkout these tests run from, which the test environment installs (`pip install -e`).
CHECKOUT = Path(tausestack.__file__).resolve().parents[1]
README = CHECKOUT / "README.md"


def project_files(project: Path) -> set[str]:
    """The project's files, the starter revision's date and id written as placeholders."""
    revision = re.compile(r"migrations/versions/\d{4}_\d\d_\d\d_[0-9a-f]{12}_")
    return {
        revision.sub("migrations/versions/<date>_<revision>_", str(path.relative_to(project)))
        for path in project.rglob("*")
        if path.is_file()
    }


def test_creates_the_project(workdir: Path, tausestack: Cli) -> None:
    result = tausestack("init", "demo", "--no-git")
    assert result.exit_code == 0, result.output
    project = workdir / "demo"
    assert project_files(project) == EXPECTED_FILES
    assert "Created project demo" in result.stdout
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "demo"
    settings = yaml.safe_load((project / "application.yaml").read_text())
    assert settings["installed_apps"] == ["apps.notes"]
    assert settings["app"]["title"] == "demo"
    assert "app = create_app()" in (project / "main.py").read_text()
    assert (
        "from tausestack.testing import TestClient" in (project / "tests/conftest.py").read_text()
    )
    assert not (project / ".git").exists()


def test_prints_the_next_steps_its_readme_and_ours_give(workdir: Path, tausestack: Cli) -> None:
    result = tausestack("init", "demo", "--no-git")
    printed = result.stdout.split("Next:\n", 1)[1].splitlines()
    assert printed == [
        "  cd demo",
        "  python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'",
        "  .venv/bin/pytest                  # the starter app's tests",
        "  .venv/bin/tausestack db upgrade   # creates app.db with the notes table",
        "  .venv/bin/tausestack run          # serves http://127.0.0.1:8000/docs",
    ]
    steps = [line.strip() for line in printed[1:]]
    assert "\n".join(steps) in (workdir / "demo" / "README.md").read_text()
    start_a_project = README.read_text().split("## Start a project", 1)[1]
    assert "\n".join(steps) in start_a_project


def test_a_project_made_from_a_local_copy_depends_on_that_copy(
    workdir: Path, tausestack: Cli
) -> None:
    """This checkout is installed with `pip install -e`: pip recorded its path (PEP 610)."""
    result = tausestack("init", "demo", "--no-git")
    assert f"It depends on TauseStack at {CHECKOUT}, the local copy" in result.stdout
    project = workdir / "demo"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [f"tausestack @ {CHECKOUT.as_uri()}"]
    extras = pyproject["project"]["optional-dependencies"]
    assert extras["postgres"] == [f"tausestack[postgres] @ {CHECKOUT.as_uri()}"]
    assert extras["auth"] == [f"tausestack[auth] @ {CHECKOUT.as_uri()}"]
    assert pyproject["tool"]["hatch"]["metadata"]["allow-direct-references"] is True
    readme = (project / "README.md").read_text()
    assert f"TauseStack is installed from `{CHECKOUT}`" in readme
    assert f'write `"tausestack>={__version__}"` for the\ndependency' in readme
    assert f'`"tausestack[auth]>={__version__}"` in the `auth` extra' in " ".join(readme.split())


class IndexInstall(metadata.Distribution):
    """TauseStack as pip installs it from a package index: no direct_url.json (PEP 610)."""

    def read_text(self, filename: str) -> str | None:
        return None

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        raise NotImplementedError


def test_a_project_made_from_an_index_install_depends_on_a_version_range(
    workdir: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: IndexInstall())
    result = tausestack("init", "demo", "--no-git")
    assert result.exit_code == 0, result.output
    assert "local copy" not in result.stdout
    project = workdir / "demo"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [f"tausestack>={__version__}"]
    extras = pyproject["project"]["optional-dependencies"]
    assert extras["postgres"] == [f"tausestack[postgres]>={__version__}"]
    assert extras["auth"] == [f"tausestack[auth]>={__version__}"]
    assert "hatch" not in pyproject["tool"] or "metadata" not in pyproject["tool"]["hatch"]
    assert "Where TauseStack comes from" not in (project / "README.md").read_text()


class LocalInstall(metadata.Distribution):
    """TauseStack as pip installs it from a local folder: direct_url.json holds a file URL."""

    def __init__(self, url: str) -> None:
        self.url = url

    def read_text(self, filename: str) -> str | None:
        return (
            json.dumps({"url": self.url, "dir_info": {}}) if filename == "direct_url.json" else None
        )

    def locate_file(self, path: str | os.PathLike[str]) -> Path:
        raise NotImplementedError


@pytest.mark.parametrize(
    ("url", "path"),
    [
        pytest.param(
            "file:///home/ana/my%20code/tausestack",
            "/home/ana/my code/tausestack",
            marks=pytest.mark.skipif(os.name == "nt", reason="a POSIX path"),
        ),
        pytest.param(
            "file:///C:/Users/Ana/my%20code/tausestack",
            "C:\\Users\\Ana\\my code\\tausestack",
            marks=pytest.mark.skipif(os.name != "nt", reason="a Windows path"),
        ),
    ],
)
def test_the_local_copy_is_read_from_pips_file_url(
    monkeypatch: pytest.MonkeyPatch, url: str, path: str
) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: LocalInstall(url))
    assert tausestack_origin() == Path(path)


def test_project_names_with_underscores_make_valid_distributions(
    workdir: Path, tausestack: Cli
) -> None:
    assert tausestack("init", "my_shop", "--no-git").exit_code == 0
    pyproject = tomllib.loads((workdir / "my_shop" / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-shop"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_initialises_git(workdir: Path, tausestack: Cli) -> None:
    assert tausestack("init", "demo").exit_code == 0
    assert (workdir / "demo" / ".git").is_dir()


def test_path_option_and_an_existing_empty_folder(workdir: Path, tausestack: Cli) -> None:
    (workdir / "services" / "shop").mkdir(parents=True)
    result = tausestack("init", "shop", "--path", "services/shop", "--no-git")
    assert result.exit_code == 0, result.output
    assert (workdir / "services" / "shop" / "main.py").is_file()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("my-shop", "Project name 'my-shop' is not a Python identifier"),
        ("9lives", "Project name '9lives' is not a Python identifier"),
        ("class", "Project name 'class' is a Python keyword"),
        ("json", "Project name 'json' is a standard-library module and would shadow it"),
        ("tausestack", "Project name 'tausestack' is reserved by the project layout"),
        ("_private", "Project name '_private' must not start or end with '_'"),
        ("café", "Project name 'café' must use ASCII letters, digits and underscores only"),
        ("x" * 65, "is longer than 64 characters"),
        ("[bold]x", "Project name '[bold]x' is not a Python identifier"),
    ],
)
def test_invalid_names_write_nothing(
    workdir: Path, tausestack: Cli, name: str, message: str
) -> None:
    result = tausestack("init", name)
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1  # one line
    assert tree(workdir) == []


def test_existing_folder_with_files_is_refused(workdir: Path, tausestack: Cli) -> None:
    (workdir / "demo").mkdir()
    (workdir / "demo" / "notes.txt").write_text("keep me")
    result = tausestack("init", "demo")
    assert result.exit_code == 2
    assert "already exists and is not empty" in result.stderr
    assert tree(workdir) == ["demo", "demo/notes.txt"]


def test_a_failure_half_way_leaves_nothing(
    workdir: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Path] = []
    original = Path.write_text

    def fail_on_the_fifth_file(self: Path, *args: object, **kwargs: object) -> int:
        written.append(self)
        if len(written) == 5:
            raise OSError("disk full")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_scaffold.Path, "write_text", fail_on_the_fifth_file)
    result = tausestack("init", "demo", "--no-git")
    assert result.exit_code == 2
    assert "Cannot write: disk full. Nothing was changed." in result.stderr
    assert len(written) == 5
    assert tree(workdir) == []  # no project, no staging folder


def test_names_yaml_would_misread_still_work(workdir: Path, tausestack: Cli) -> None:
    assert tausestack("init", "true", "--no-git").exit_code == 0
    os.chdir(workdir / "true")
    assert tausestack("db", "upgrade").exit_code == 0  # the starter's table, as `check` wants
    result = tausestack("check")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((workdir / "true" / "application.yaml").read_text())["app"]["title"] == (
        "true"
    )


def test_files_get_ordinary_permissions(workdir: Path, tausestack: Cli) -> None:
    previous = os.umask(0o022)
    try:
        assert tausestack("init", "demo", "--no-git").exit_code == 0
    finally:
        os.umask(previous)
    project = workdir / "demo"
    assert stat.S_IMODE(project.stat().st_mode) == 0o755
    assert stat.S_IMODE((project / "apps").stat().st_mode) == 0o755
    assert stat.S_IMODE((project / "main.py").stat().st_mode) == 0o644


def test_an_empty_destination_folder_is_filled_not_replaced(workdir: Path, tausestack: Cli) -> None:
    target = workdir / "here"
    target.mkdir()
    inode = target.stat().st_ino
    os.chdir(target)
    assert tausestack("init", "demo", "--path", ".", "--no-git").exit_code == 0
    assert target.stat().st_ino == inode
    assert (target / "main.py").is_file()


def test_path_errors_are_one_line(workdir: Path, tausestack: Cli) -> None:
    (workdir / "afile").write_text("")
    inside_a_file = tausestack("init", "demo", "--path", "afile/sub")
    assert inside_a_file.exit_code == 2
    assert "afile is a file, so" in inside_a_file.stderr
    onto_a_file = tausestack("init", "demo", "--path", "afile")
    assert onto_a_file.exit_code == 2
    assert "afile is a file; choose another name or --path" in onto_a_file.stderr
    too_long = tausestack("init", "demo", "--path", "x" * 300)
    assert too_long.exit_code == 2
    assert too_long.stderr.startswith("Error: Cannot write")
    assert "File name too long" in too_long.stderr
    assert too_long.stderr.count("\n") == 1
    assert tree(workdir) == ["afile"]


def starter_revision_round_trip(tausestack: Cli) -> None:
    upgraded = tausestack("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert ": create notes" in upgraded.stdout
    nothing = tausestack("db", "makemigrations", "-m", "nothing new")
    assert nothing.exit_code == 0, nothing.output
    assert "No changes detected." in nothing.stdout


def test_the_starter_revision_creates_what_the_model_describes(demo: Path, tausestack: Cli) -> None:
    starter_revision_round_trip(tausestack)


def test_the_starter_revision_on_postgresql(
    demo: Path, tausestack: Cli, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    monkeypatch.setenv("TAUSESTACK_DATABASE__URL", postgres_url)
    starter_revision_round_trip(tausestack)
