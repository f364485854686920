"""The ``file`` backend, beyond the contract suite: how a file comes to exist."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.contract.notify_inboxes import FileInbox


def test_an_eml_file_is_never_visible_half_written_and_only_to_its_owner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox = FileInbox(tmp_path)
    notifier = inbox.notifier()
    seen_before_rename: list[list[str]] = []
    rename = os.replace

    def observed_rename(source: Any, target: Any) -> None:
        # The moment before the rename: the whole message is in the temporary file.
        seen_before_rename.append([path.name for path in inbox.folder.glob("*.eml")])
        rename(source, target)

    monkeypatch.setattr(os, "replace", observed_rename)
    result = notifier.email("ada@example.com", "Reset", text="https://shop.test/reset?t=secret")
    monkeypatch.undo()
    assert seen_before_rename == [[]], "a reader globbing *.eml saw a file being written"
    [written] = inbox.folder.glob("*.eml")
    assert inbox.delivered(result).header("Subject") == "Reset"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert [path.name for path in inbox.folder.iterdir()] == [written.name]
