"""What the reloader of `tausestack run` looks at, and what it reports as changed.

`test_run_and_shell.py` runs the real server; these tests check the file walk on its own.
"""

import os
from pathlib import Path

import uvicorn

from tausestack.cli._reload import ProjectReload, watched_files


def write(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("", encoding="utf-8")


def names(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in watched_files(root)}


def test_code_settings_and_dotenv_files_are_watched(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.py",
        "application.yaml",
        "application-prod.yaml",
        "application-test.yml",
        ".env",
        ".env.local",
        "apps/notes/services/notes.py",
        "README.md",
        "app.db",
        "pyproject.toml",
        "apps/notes/templates/page.html",
    )
    assert names(tmp_path) == {
        "main.py",
        "application.yaml",
        "application-prod.yaml",
        "application-test.yml",
        ".env",
        ".env.local",
        "apps/notes/services/notes.py",
    }


def test_virtualenvs_caches_node_modules_and_git_are_not_entered(tmp_path: Path) -> None:
    write(
        tmp_path,
        "main.py",
        ".venv/lib/site-packages/a.py",
        "venv/lib/site-packages/b.py",
        "tools/python-env/pyvenv.cfg",  # a virtualenv by any name, at any depth
        "tools/python-env/lib/c.py",
        "tools/script.py",
        "apps/__pycache__/d.py",
        ".mypy_cache/e.py",
        ".ruff_cache/f.py",
        ".pytest_cache/g.py",
        "frontend/node_modules/h.py",
        ".git/hooks/i.py",
    )
    assert names(tmp_path) == {"main.py", "tools/script.py"}


def test_symlinked_folders_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path, "apps/a.py")
    os.symlink(tmp_path, tmp_path / "apps" / "loop")
    assert names(tmp_path) == {"apps/a.py"}


def test_added_removed_and_modified_files_are_changes(tmp_path: Path) -> None:
    write(tmp_path, "main.py", "old.py", "application.yaml", "notes.txt")
    config = uvicorn.Config("main:app", reload=True, reload_delay=0)
    reloader = ProjectReload(config, lambda sockets: None, [], tmp_path)
    assert reloader.should_restart() is None
    write(tmp_path, "new.py")
    (tmp_path / "old.py").unlink()
    os.utime(tmp_path / "application.yaml", ns=(0, 10**18))
    (tmp_path / "notes.txt").write_text("not watched", encoding="utf-8")
    assert reloader.should_restart() == [
        tmp_path / "application.yaml",
        tmp_path / "new.py",
        tmp_path / "old.py",
    ]
    assert reloader.should_restart() is None
