"""A new user's first hour, end to end: from a clone to a served project and its first migration.

On a copy of this checkout with nothing installed, the test types what README.md and
`tausestack init` tell a user to type, parsed from them so that they cannot drift apart: the
README's install line and the first line of its "Start a project", then exactly the next steps
`init` prints (installing the project, its own tests, `db upgrade`) and `tausestack run`, with
requests to the starter app. Then it adds a field with a default to the starter model, and runs
`db makemigrations`, `db upgrade` on SQLite and on PostgreSQL (chosen by
TAUSESTACK_DATABASE__URL alone) and requests that use the new column.

pip downloads what it needs (its cache helps): the first run on a machine takes minutes.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import create_engine, text

from tests.processes import free_port, serving

pytestmark = pytest.mark.e2e

CHECKOUT = Path(__file__).resolve().parents[2]
README = CHECKOUT / "README.md"
#: What a clone does not have: environments, caches and build output of this checkout.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".venv", ".git", "__pycache__", "*_cache", "*.egg-info", "build", "dist", ".tausestack_*"
)
NEW_FIELD = "    done: bool = False\n"


def readme_block(section: str) -> list[str]:
    """The lines of the first ```bash block under the README heading ``## section``."""
    after = README.read_text(encoding="utf-8").split(f"\n## {section}\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", after, re.DOTALL)
    assert block is not None, f"no bash block under '## {section}' in README.md"
    return block.group(1).splitlines()


def environment(**extra: str) -> dict[str, str]:
    """This process's environment as a new user's shell has it: no virtualenv, no TauseStack."""
    own_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry != own_bin
    )
    kept = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAUSESTACK_", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"))
    }
    return {**kept, "PATH": path, **extra}


def bash(script: str, cwd: Path, env: Mapping[str, str], timeout: float = 900) -> str:
    """Run ``script`` as typed into a shell (stopping at the first failure); return its output."""
    result = subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"$ {script}\nexited with {result.returncode}:\n{output}"
    return result.stdout


def printed_steps(output: str) -> list[str]:
    """The commands `init` printed after "Next:", one per line, as printed."""
    steps = output.split("\nNext:\n", 1)[1].splitlines()
    assert steps, output
    assert all(step.startswith("  ") for step in steps), output
    return [step.strip() for step in steps]


@pytest.mark.postgres
def test_from_a_clone_to_a_served_project_and_its_first_migration(
    tmp_path: Path, postgres_url: str
) -> None:
    clone = tmp_path / "tausestack"
    shutil.copytree(CHECKOUT, clone, ignore=NOT_IN_A_CLONE)
    [install] = readme_block("Install")
    start = readme_block("Start a project")[0]
    assert "tausestack init shop" in start

    # The README: install from the clone, then init next to it (in the shell the install line
    # activated).
    created = bash(f"{install}\n{start}", cwd=clone, env=environment())
    assert f"It depends on TauseStack at {clone}, the local copy" in created
    project = tmp_path / "shop"
    assert f"tausestack @ {clone.as_uri()}" in (project / "pyproject.toml").read_text()

    # Exactly the steps init printed, in that shell (after `cd ..`), up to `run`.
    steps = printed_steps(created)
    [serve] = [step for step in steps if ".venv/bin/tausestack run" in step]
    before_serving = steps[: steps.index(serve)]
    assert before_serving[0] == "cd shop"
    activated = environment(PATH=f"{clone / '.venv' / 'bin'}{os.pathsep}{environment()['PATH']}")
    activated["VIRTUAL_ENV"] = str(clone / ".venv")
    output = bash("\n".join(before_serving), cwd=tmp_path, env=activated)
    assert re.search(r"\b5 passed\b", output), output  # the project's own tests
    assert ": create notes" in output  # db upgrade
    project_env = dict(activated)

    # `tausestack run`, on a free port rather than 8000.
    def served(env: Mapping[str, str], log: str) -> AbstractContextManager[str]:
        port = free_port()
        command = f"exec {serve.split('#')[0].strip()} --port {port}"
        return serving(["bash", "-c", command], project, port, tmp_path / log, env=env)

    with served(project_env, "first.log") as base:
        assert httpx2.get(f"{base}/notes", follow_redirects=False).json()["items"] == []
        first = httpx2.post(f"{base}/notes", json={"text": "first"})
        assert first.status_code == 201, first.text
        assert httpx2.get(f"{base}/notes").json()["items"] == [first.json()]

    # A field with a default on the starter model, and its migration.
    model = project / "apps" / "notes" / "models" / "note.py"
    source = model.read_text()
    anchor = "    text: str = Field(min_length=1, max_length=500)\n"
    assert anchor in source
    model.write_text(source.replace(anchor, anchor + NEW_FIELD, 1))
    made = bash('.venv/bin/tausestack db makemigrations -m "add done"', project, project_env)
    assert "Detected added column 'notes.done'" in made

    # SQLite, the project's default database: the note made before keeps its row.
    upgraded = bash(".venv/bin/tausestack db upgrade", project, project_env)
    assert ": add done" in upgraded
    with served(project_env, "sqlite.log") as base:
        second = httpx2.post(f"{base}/notes", json={"text": "second", "done": True})
        assert second.status_code == 201, second.text
        assert second.json()["done"] is True
        listed = httpx2.get(f"{base}/notes").json()["items"]
        assert [(note["text"], note["done"]) for note in listed] == [
            ("first", False),
            ("second", True),
        ]

    # PostgreSQL, chosen by the environment alone, with the drivers from the project's extra.
    bash(".venv/bin/pip install -e '.[dev,postgres]'", project, project_env)
    on_postgres = {**project_env, "TAUSESTACK_DATABASE__URL": postgres_url}
    assert ": create notes" in bash(".venv/bin/tausestack db upgrade +1", project, on_postgres)
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO notes (text) VALUES ('made before')"))
    finally:
        engine.dispose()
    assert ": add done" in bash(".venv/bin/tausestack db upgrade", project, on_postgres)
    with served(on_postgres, "postgres.log") as base:
        created_on_postgres = httpx2.post(f"{base}/notes", json={"text": "after", "done": True})
        assert created_on_postgres.status_code == 201, created_on_postgres.text
        listed = httpx2.get(f"{base}/notes").json()["items"]
        assert [(note["text"], note["done"]) for note in listed] == [
            ("made before", False),
            ("after", True),
        ]


def test_a_project_made_from_a_wheel_depends_on_that_wheel(tmp_path: Path) -> None:
    """TauseStack installed from a local wheel (not editable): pip resolves the project to it."""
    python = sys.executable
    bash(f"{python} -m pip wheel --quiet --no-deps -w dist {CHECKOUT}", tmp_path, os.environ)
    [wheel] = (tmp_path / "dist").glob("tausestack-*.whl")
    site = tmp_path / "site"
    install = f"{python} -m pip install --quiet --no-deps --target {site} {wheel}"
    bash(install, tmp_path, os.environ)
    from_the_wheel = environment(PYTHONPATH=str(site))  # its dependencies: this environment's

    created = bash(f"{python} -m tausestack init demo --no-git", tmp_path, from_the_wheel)
    assert f"It depends on TauseStack at {wheel}, the local copy" in created
    pyproject = (tmp_path / "demo" / "pyproject.toml").read_text()
    assert f'dependencies = ["tausestack @ {wheel.as_uri()}"]' in pyproject
    report = tmp_path / "report.json"
    dry_run = f"{python} -m pip install --quiet --dry-run --report {report} -e demo"
    bash(dry_run, tmp_path, environment())
    planned = {
        item["metadata"]["name"]: item["download_info"]["url"]
        for item in json.loads(report.read_text())["install"]
    }
    assert planned["tausestack"] == wheel.as_uri()

    wheel.unlink()
    again = bash(f"{python} -m tausestack init other --no-git", tmp_path, from_the_wheel)
    assert f"installed from {wheel}, a local copy that no longer exists" in again
    assert '"tausestack>=' in (tmp_path / "other" / "pyproject.toml").read_text()
