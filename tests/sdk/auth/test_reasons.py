"""docs/auth.md's table of answers lists exactly the reason codes the code can send.

The code's set is read from the source of ``tausestack.sdk.auth`` and
``tausestack.contrib.auth``: the first argument of ``AuthenticationError``,
``PermissionDeniedError``, ``unauthorized`` and ``forbidden``, every ``{"reason": ...}``
literal, and the reasons of oidc's table of PyJWT errors.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "tausestack" / "sdk" / "auth", ROOT / "tausestack" / "contrib" / "auth"]
DOCS = ROOT / "docs" / "auth.md"
RAISING = {"AuthenticationError", "PermissionDeniedError", "unauthorized", "forbidden"}


def reasons_in_code() -> dict[str, str]:
    """Every reason code → one place it is sent from."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                for reason in _reasons(node):
                    found.setdefault(reason, f"{path.relative_to(ROOT)}:{node.lineno}")  # type: ignore[attr-defined]
    return found


def _reasons(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Call):
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        if name in RAISING and node.args and _text(node.args[0]) is not None:
            return [_text(node.args[0])]  # type: ignore[list-item]
    if isinstance(node, ast.Dict):
        return [
            text
            for key, value in zip(node.keys, node.values, strict=True)
            if key is not None and _text(key) == "reason" and (text := _text(value)) is not None
        ]
    if (  # oidc's (PyJWT error, reason, message) table
        isinstance(node, ast.Tuple)
        and len(node.elts) == 3
        and isinstance(node.elts[0], ast.Attribute)
        and _text(node.elts[1]) is not None
    ):
        return [_text(node.elts[1])]  # type: ignore[list-item]
    return []


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def reasons_documented() -> set[str]:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## Answers", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("|")][2:]
    return {code for row in rows for code in re.findall(r"`([a-z_]+)`", row.split("|")[-2])}


def test_the_scan_finds_reasons_of_every_kind() -> None:
    found = reasons_in_code()
    assert {"missing_token", "csrf_failed", "token_not_yet_valid", "user_exists"} <= set(found)


def test_every_reason_the_code_sends_is_documented() -> None:
    missing = {
        reason: where
        for reason, where in reasons_in_code().items()
        if reason not in reasons_documented()
    }
    assert not missing, f"add these to the table of docs/auth.md: {missing}"


def test_every_documented_reason_is_sent_by_the_code() -> None:
    stale = reasons_documented() - set(reasons_in_code())
    assert not stale, f"docs/auth.md documents reasons nothing sends: {sorted(stale)}"
