"""Adding an app to ``installed_apps`` in application.yaml without disturbing the file.

The new entry is inserted as one line after the last item of a block list, so comments, blank
lines, order and indentation stay exactly as the user wrote them. ruamel.yaml (the maintained
round-trip YAML library) finds where that line goes, and rewrites the file itself only in the
rare cases a line cannot do it (a ``[flow, style]`` list or an empty one).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from ._output import BadInput


def with_installed_app(path: Path, entry: str) -> str:
    """Return ``path``'s text with ``entry`` appended to ``installed_apps`` (nothing written).

    Raises BadInput for a duplicate entry or a file that cannot hold one.
    """
    text = ""
    if path.exists():
        with path.open(encoding="utf-8", newline="") as stream:  # keep \r\n line endings
            text = stream.read()
    round_trip = YAML(typ="rt")
    round_trip.preserve_quotes = True
    try:
        data = round_trip.load(text) if text.strip() else CommentedMap()
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or exc
        raise BadInput(
            f"Cannot read {where}: {problem}. Fix the YAML, then run the command again."
        ) from None
    if not isinstance(data, CommentedMap):
        raise BadInput(f"{path} must hold a mapping of settings; fix it and run again.")
    apps = data.get("installed_apps")
    if apps is not None and not isinstance(apps, list):
        raise BadInput(f"installed_apps in {path} is not a list; make it one and run again.")
    if apps is not None and entry in apps:
        raise BadInput(f"{entry} is already in installed_apps in {path}.")
    expected = [*(apps or []), entry]
    newline = "\r\n" if "\r\n" in text else "\n"
    if apps is None and "installed_apps" not in data:
        separator = "" if not text or text.endswith("\n") else newline
        return f"{text}{separator}installed_apps:{newline}  - {entry}{newline}"
    if apps is None:
        edited = _fill_empty_key(text, data, entry, newline)
    elif isinstance(apps, CommentedSeq) and (apps.fa.flow_style() or not apps):
        edited = _extend_flow_list(text, apps, entry)
    else:
        edited = _insert_line(text, apps, entry, newline)
    if edited is not None and _installed_apps(edited) == expected:
        return edited
    data["installed_apps"] = CommentedSeq(expected) if apps is None else apps
    if apps is not None:
        apps.append(entry)
    buffer = io.StringIO()
    round_trip.dump(data, buffer)
    return buffer.getvalue()


def _insert_line(text: str, apps: Any, entry: str, newline: str) -> str | None:
    """Add ``- entry`` under the last item of a block list; None when that cannot work."""
    if not isinstance(apps, CommentedSeq) or not apps:
        return None
    line, column = apps.lc.item(len(apps) - 1)
    lines = text.splitlines(keepends=True)
    dash = lines[line].rfind("-", 0, column)
    if dash < 0 or lines[line][:dash].strip():
        return None
    if not lines[line].endswith("\n"):
        lines[line] += newline
    lines.insert(line + 1, f"{lines[line][:dash]}- {entry}{newline}")
    return "".join(lines)


def _fill_empty_key(text: str, data: CommentedMap, entry: str, newline: str) -> str | None:
    """``installed_apps:`` with no value (or null) becomes a one-item block list."""
    line, column = data.lc.key("installed_apps")
    lines = text.splitlines(keepends=True)
    colon = lines[line].find(":", column)
    if colon < 0:
        return None
    lines[line] = lines[line][: colon + 1] + newline
    lines.insert(line + 1, f"{' ' * (column + 2)}- {entry}{newline}")
    return "".join(lines)


def _extend_flow_list(text: str, apps: CommentedSeq, entry: str) -> str | None:
    """``[a, b]`` on one line becomes ``[a, b, entry]``; None for a list over several lines."""
    lines = text.splitlines(keepends=True)
    line, column = apps.lc.line, apps.lc.col
    closing = lines[line].find("]", column)
    if lines[line][column : column + 1] != "[" or closing < 0:
        return None
    inside = lines[line][column + 1 : closing]
    addition = f"{entry}" if not inside.strip() else f"{inside.rstrip()}, {entry}"
    lines[line] = lines[line][: column + 1] + addition + lines[line][closing:]
    return "".join(lines)


def _installed_apps(text: str) -> Any:
    try:
        loaded = pyyaml.safe_load(text)
    except pyyaml.YAMLError:
        return None
    return loaded.get("installed_apps") if isinstance(loaded, dict) else None
