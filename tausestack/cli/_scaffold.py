"""Rendering the Jinja2 templates in ``tausestack/templates`` and writing them safely.

Everything is rendered in memory first, so a template error writes nothing. A new project is
written into a temporary folder next to its destination and renamed into place; files added to
an existing project are each written through a temporary file, and removed again if a later one
fails, so a command never leaves a half-written project behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._output import BadInput

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SUFFIX = ".jinja"


def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined  # ~60 ms: not for --help

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        keep_trailing_newline=True,
        undefined=StrictUndefined,
        autoescape=False,  # source code and YAML, not HTML
    )


def render_tree(folder: str, context: Mapping[str, Any]) -> dict[Path, str]:
    """Render every template under ``templates/<folder>``: relative path -> content."""
    environment = _environment()
    base = TEMPLATES / folder
    rendered: dict[Path, str] = {}
    for source in sorted(_templates(base)):
        relative = source.relative_to(base)
        parts = [environment.from_string(part).render(context) for part in relative.parts]
        parts[-1] = parts[-1].removesuffix(SUFFIX)
        parts = ["." + part[4:] if part.startswith("dot-") else part for part in parts]
        template = environment.get_template(f"{folder}/{relative.as_posix()}")
        rendered[Path(*parts)] = template.render(context)
    return rendered


def render_file(name: str, context: Mapping[str, Any]) -> str:
    """Render one template, e.g. ``generate/controller.py.jinja``."""
    return _environment().get_template(name).render(context)


def _templates(base: Path) -> Iterator[Path]:
    for path in base.rglob(f"*{SUFFIX}"):
        if "__pycache__" not in path.parts:
            yield path


def create_tree(target: Path, files: Mapping[Path, str]) -> None:
    """Write a new folder ``target`` holding ``files``, all at once or not at all.

    An existing empty folder is filled rather than replaced, so a shell sitting in it keeps it.
    """
    if target.exists() and not target.is_dir():
        raise BadInput(f"{target} is a file; choose another name or --path.")
    if target.exists() and any(target.iterdir()):
        raise BadInput(f"{target} already exists and is not empty; choose another name or path.")
    for parent in target.parents:
        if parent.exists() and not parent.is_dir():
            raise BadInput(f"{parent} is a file, so {target} cannot be created in it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    moved: list[Path] = []
    try:
        for relative, content in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content, encoding="utf-8")
        _give_default_modes(staging)
        if target.exists():
            for entry in sorted(staging.iterdir()):
                os.rename(entry, target / entry.name)
                moved.append(target / entry.name)
            staging.rmdir()
        else:
            os.rename(staging, target)
    except BaseException:
        for entry in moved:
            os.rename(entry, staging / entry.name)
        shutil.rmtree(staging, ignore_errors=True)
        raise


def add_files(
    root: Path,
    files: Mapping[Path, str],
    *,
    force: bool = False,
    refusal: str = "pass --force to overwrite",
) -> list[Path]:
    """Add ``files`` under ``root``; refuse to overwrite (unless ``force``) before writing any."""
    existing = [relative for relative in files if (root / relative).exists()]
    if existing and not force:
        listed = ", ".join(str(relative) for relative in existing)
        raise BadInput(f"{listed} already exists; {refusal}.")
    created_folders: list[Path] = []
    written: list[tuple[Path, bytes | None]] = []
    try:
        for relative, content in files.items():
            path = root / relative
            created_folders.extend(_make_parents(path.parent))
            previous = path.read_bytes() if path.exists() else None
            write_atomically(path, content)
            written.append((path, previous))
    except BaseException:
        for path, previous in reversed(written):
            if previous is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(previous)
        for folder in reversed(created_folders):
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return [root / relative for relative in files]


def _make_parents(folder: Path) -> list[Path]:
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir()
    return list(reversed(missing))


def write_atomically(path: Path, content: str) -> None:
    """Write ``content`` to ``path`` through a temporary file renamed over it.

    A symlink is followed (its target is rewritten), an existing file keeps its mode, a new one
    gets the usual mode for the user's umask, and a read-only file is refused.
    """
    path = path.resolve()
    if path.exists() and not os.access(path, os.W_OK):
        raise BadInput(f"{path} is read-only; make it writable and run the command again.")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(content)
        if path.exists():
            shutil.copymode(path, temporary)
        else:
            os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _give_default_modes(root: Path) -> None:
    """mkdtemp makes 0700 folders; give what plain mkdir and open would have given."""
    mask = _umask()
    for path in [root, *root.rglob("*")]:
        os.chmod(path, (0o777 if path.is_dir() else 0o666) & ~mask)
