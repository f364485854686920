"""The reloader of ``tausestack run``: restart the server when code or settings change.

uvicorn's own reloaders do not fit a project that keeps its virtualenv inside it. Without
watchfiles (plain ``uvicorn``, what TauseStack depends on) StatReload stats every ``*.py`` below
the project four times a second, a ``.venv``'s thousands included (about 3 s of CPU per 10 s
idle), and ignores ``reload_includes``/``reload_excludes``, so a settings file never reloads.
With watchfiles the excludes only filter the events: the whole tree, ``.venv`` and
``node_modules`` included, is still watched. This reloader keeps uvicorn's supervisor (the
server process, its restarts and signals) and replaces only the question "what changed?": it
walks the project without entering virtualenvs, caches, ``node_modules`` or ``.git``, and
compares modification times.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from pathlib import Path
from socket import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.basereload import BaseReload

#: Files whose change restarts the server: code, settings files and dotenv files.
WATCHED = ("*.py", "application*.yaml", "application*.yml", ".env*")
#: Folders never entered; any folder holding a ``pyvenv.cfg`` (a virtualenv) is skipped too.
SKIPPED = frozenset(
    {
        ".git",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)


def serve_reloading(app: str, root: Path, **options: Any) -> None:
    """Serve ``app`` (``module:attribute``) with uvicorn, restarted on changes under ``root``."""
    config = uvicorn.Config(app, reload=True, reload_dirs=[str(root)], **options)
    server = uvicorn.Server(config)
    ProjectReload(config, server.run, [config.bind_socket()], root).run()


class ProjectReload(BaseReload):
    """uvicorn's reload supervisor, restarting on changes to :data:`WATCHED` files."""

    def __init__(
        self,
        config: uvicorn.Config,
        target: Callable[[list[socket] | None], None],
        sockets: list[socket],
        root: Path,
    ) -> None:
        super().__init__(config, target, sockets)
        self.reloader_name = "TauseStack"
        self.root = root
        # Taken before the server starts, so a change made once it answers is always seen.
        self.modified = watched_files(root)

    def should_restart(self) -> list[Path] | None:
        """Wait ``reload_delay`` seconds, then the files added, removed or modified since."""
        self.pause()
        current = watched_files(self.root)
        changed = {
            path
            for path in current.keys() | self.modified.keys()
            if current.get(path) != self.modified.get(path)
        }
        self.modified = current
        return sorted(changed) or None


def watched_files(root: Path) -> dict[Path, int]:
    """Every watched file below ``root`` with its modification time in nanoseconds."""
    found: dict[Path, int] = {}
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError:  # removed meanwhile, or not readable
            continue
        if folder != root and any(entry.name == "pyvenv.cfg" for entry in entries):
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in SKIPPED:
                        folders.append(Path(entry.path))
                elif any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in WATCHED):
                    found[Path(entry.path)] = entry.stat().st_mtime_ns
            except OSError:  # removed between the listing and the stat
                continue
    return found
