"""Docs that run: every Python block of README.md and docs/*.md is executed by the test suite.

A pytest plugin (registered in ``tests/conftest.py``) built on sybil. A test module named
``test_documents.py`` (``tests/docs/test_documents.py``) collects every block of the project's
``README.md`` and ``docs/*.md`` under it, so ``pytest tests/docs`` runs the documentation.

The conventions, for whoever writes docs:

- A fenced ```` ```python ```` block is executed. The blocks of one document run in order, in one
  namespace, with one event loop (top-level ``await`` works), in a fresh scratch folder that is
  the current directory and on ``sys.path``, with no ``TAUSESTACK_*`` variable from the shell.
  Nothing leaks to the next document: folder, environment, imported modules and the SDK's
  default app are put back.
- A block whose first line is ``# path/to/file.py`` (a relative path, any comment after it) is
  that file: it is written into the folder, not executed, so later blocks can import it or
  ``create_app()`` can discover it. A ``# other/file.py`` line after a blank line starts the
  next file of the same block. Every Python file written must be imported by some later block.
  ```` ```yaml ```` blocks work the same way (``# application.yaml``); every YAML block must parse.
- A block that cannot run (it needs a cloud account, it is a fragment of a class shown above)
  is preceded by ``<!-- skip: next "the reason" -->``; ``skip: start "reason"`` … ``skip: end``
  covers several. A skip without a reason fails.
- Setup a reader does not need to see (models a fragment uses, assertions that check what the
  text claims) goes in an invisible block: ``<!-- invisible-code-block: python`` … ``-->``.
  ``at_document_end`` is a ``contextlib.ExitStack`` closed after the document's last block,
  even when one failed: ``client = at_document_end.enter_context(TestClient(app))`` keeps an
  app running for the blocks that follow.
- A block that needs a real server asks for one of the suite's session fixtures:
  ``redis = session_fixture("redis_server")``, then points the settings at it
  (``os.environ["TAUSESTACK_CACHE__REDIS__URL"] = redis.url()``). Without the server it is
  skipped with the fixture's reason, and fails under ``REQUIRE_REAL_SERVICES=1``.
- ``bash`` blocks are not run (the CLI has its own tests in tests/cli/); ``text`` blocks are
  output. A block that looks like Python but is not collected (```` ```py ````, an unlabelled
  fence that parses as Python, an indented block) is *untested* and fails the suite.

The terminal summary ends with ``docs: N Python blocks in D documents — R run, S skipped with a
reason, U untested``. A failure names the document and line (``docs/auth.md:35``); a file
written from a block maps its lines back (``apps/users/services.py:3 is README.md:47``); the
blocks after a failed one in the same document are reported as not run.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
import sybil as sybil_package
from _pytest._code.code import Traceback
from sybil import Sybil
from sybil.integration.pytest import SybilFile, SybilItem

from tests.docs.blocks import (
    NOT_RUN,
    PATH_KEY,
    RUN_KEY,
    DocumentRun,
    MarkdownDocument,
    parsers,
)
from tests.docs.scan import DocumentBlocks, scan

TRIGGER = "test_documents.py"
INVENTORY = pytest.StashKey[list[DocumentBlocks]]()
#: What happened to each block, by (document, line): passed, failed, skipped or "not run".
OUTCOMES = pytest.StashKey[dict[tuple[str, int], str]]()


def documents(root: Path) -> list[Path]:
    """The documents whose blocks run: README.md, then docs/*.md."""
    readme = root / "README.md"
    return ([readme] if readme.exists() else []) + sorted((root / "docs").glob("*.md"))


def _open_run(namespace: dict[str, Any], root: Path) -> None:
    namespace[RUN_KEY] = DocumentRun(Path(namespace[PATH_KEY]), root)


def _close_run(namespace: dict[str, Any]) -> None:
    run: DocumentRun | None = namespace.pop(RUN_KEY, None)
    if run is not None:
        run.close()


# Frames of these are the machinery that runs a block, not what the block ran.
_HARNESS = (
    Path(sybil_package.__file__).parent,
    Path(asyncio.__file__).parent,
    Path(__file__).parent / "blocks.py",
)


class DocumentItem(SybilItem):
    """One block; its traceback shows the document's code and the project's, not the harness."""

    def runtest(self) -> None:
        run: DocumentRun | None = self.example.namespace.get(RUN_KEY)
        if run is not None:
            run.item = self
        super().runtest()

    def reportinfo(self) -> tuple[Path, int, str]:
        assert self.parent is not None
        return self.path, self.example.line, f"{self.parent.name}:{self.example.line}"

    def repr_failure(self, excinfo: Any, style: Any = None) -> Any:
        # A long style would print the whole document above the failing line.
        if style is None and self.config.getoption("tbstyle", "auto") == "auto":
            style = "short"
        return super().repr_failure(excinfo, style)

    def _traceback_filter(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Traceback:
        traceback = super()._traceback_filter(excinfo)
        kept = traceback.filter(
            lambda entry: not any(Path(entry.path).is_relative_to(part) for part in _HARNESS)
        )
        return kept or traceback


class DocumentFile(SybilFile):
    """One document: its blocks as :class:`DocumentItem`s."""

    def collect(self) -> Iterator[DocumentItem]:
        for sybil in self.sybils:
            document = sybil.parse(self.path)
            self.documents.append(document)
            for example in document.examples():
                yield DocumentItem.from_parent(self, sybil=sybil, example=example)


class DocumentsModule(pytest.Module):
    """``test_documents.py``'s own tests, then one sybil file per document, then the check
    that no Python block is left untested."""

    def collect(self) -> Iterator[Any]:
        yield from super().collect()
        root = self.config.rootpath
        sybil = Sybil(
            parsers=parsers(),
            setup=functools.partial(_open_run, root=root),
            teardown=_close_run,
            document_types={".md": MarkdownDocument},
        )
        inventory = []
        for path in documents(root):
            name = path.relative_to(root).as_posix()
            inventory.append(scan(path, name, sybil.parse(path)))
            yield DocumentFile.from_parent(
                self, path=path, name=name, nodeid=f"{self.nodeid}::{name}", sybils=[sybil]
            )
        self.config.stash[INVENTORY] = inventory
        yield EveryPythonBlockRuns.from_parent(self, name="every_python_block_runs")


class EveryPythonBlockRuns(pytest.Item):
    """Fails naming each Python-looking block that the harness does not run."""

    def runtest(self) -> None:
        problems = [
            problem
            for document in self.config.stash[INVENTORY]
            for problem in document.untested_problems()
        ]
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, "every Python block of the docs runs"


@pytest.hookimpl
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    if module_path.name == TRIGGER:
        return DocumentsModule.from_parent(parent, path=module_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if isinstance(item, DocumentItem) and isinstance(item.parent, DocumentFile):
        if report.skipped and isinstance(report.longrepr, tuple):  # where the block is
            report.longrepr = (str(item.path), item.example.line, report.longrepr[2])
        if report.when == "call" or report.outcome != "passed":
            outcomes = item.config.stash.setdefault(OUTCOMES, {})
            outcomes.setdefault((item.parent.name, item.example.line), _kind(report))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    inventory = config.stash.get(INVENTORY, None)
    if inventory is not None:
        terminalreporter.write_line(summary_line(inventory, config.stash.get(OUTCOMES, {})))


def _kind(report: pytest.TestReport) -> str:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        return "not run" if reason.removeprefix("Skipped: ").startswith(NOT_RUN) else "skipped"
    return report.outcome


def summary_line(inventory: list[DocumentBlocks], by_block: dict[tuple[str, int], str]) -> str:
    """``docs: N Python blocks in D documents — R run, S skipped with a reason, U untested``."""
    counts: Counter[str] = Counter()
    hidden = 0
    for document in inventory:
        hidden += document.hidden
        for block in document.python:
            if not block.collected:
                counts["untested"] += 1
            else:
                counts[by_block.get((document.name, block.line), "not selected")] += 1
    total = sum(counts.values())
    run = counts["passed"] + counts["failed"]
    failed = f" ({counts['failed']} failed)" if counts["failed"] else ""
    parts = [
        f"{run} run{failed}",
        f"{counts['skipped']} skipped with a reason",
        f"{counts['untested']} untested",
    ]
    parts += [f"{counts[kind]} {kind}" for kind in ("not run", "not selected") if counts[kind]]
    documents_word = "document" if len(inventory) == 1 else "documents"
    line = f"docs: {total} Python blocks in {len(inventory)} {documents_word} — {', '.join(parts)}"
    return line + (f"; {hidden} invisible {'block' if hidden == 1 else 'blocks'}" if hidden else "")
