"""How one document's code blocks run: files, Python, YAML, skips (conventions in plugin.py)."""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import shutil
import sys
import tempfile
import traceback
import types
import unittest
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from sybil import Document, Example, Region
from sybil.parsers.markdown import CodeBlockParser, SkipParser

from tests.conftest import Project, forget_modules_under

#: A block whose first line is ``# path/to/file.ext`` is that file; inside it, such a line after
#: a blank line starts the next file.
FILE_HEADER = re.compile(r"#[ \t]+(?P<path>(?:[\w.-]+/)*[\w-]*\.\w+)(?=\s|$)")
PATH_KEY = "__document_path__"
RUN_KEY = "__document_run__"
NOT_RUN = "not run: "


@dataclass(frozen=True)
class BlockFile:
    """One file of a file block: where it goes and the document line of its first line."""

    path: str
    text: str
    first_line: int


def split_files(source: str, first_line: int) -> list[BlockFile]:
    """The files a block holds (none when its first line names no file).

    ``first_line`` is the document line of the block's first line.
    """
    lines = source.splitlines(keepends=True)
    if not lines or not FILE_HEADER.match(lines[0]):
        return []
    starts = [
        index
        for index, line in enumerate(lines)
        if FILE_HEADER.match(line) and (index == 0 or not lines[index - 1].strip())
    ]
    files = []
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        match = FILE_HEADER.match(lines[start])
        assert match is not None
        text = "".join(lines[start:end]).rstrip() + "\n"
        files.append(BlockFile(match["path"], text, first_line + start))
    return files


@dataclass
class Written:
    """A file written from a block, to tell its lines apart from the document's."""

    relative: str
    block_line: int
    first_line: int


class DocumentRun:
    """One document's run: a scratch folder as the current directory and on ``sys.path``, no
    ``TAUSESTACK_*`` variable from outside, one module namespace and one event loop for all its
    blocks. :meth:`close` puts everything back."""

    def __init__(self, path: Path, root: Path) -> None:
        self.path = path
        self.name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        slug = re.sub(r"\W", "_", self.name)
        self.folder = Path(tempfile.mkdtemp(prefix=f"docs-{slug}-"))
        self.project = Project(self.folder)
        self.module = types.ModuleType(f"_docs_{slug}")
        self.namespace: dict[str, Any] = self.module.__dict__
        self.at_end = self.namespace["at_document_end"] = ExitStack()
        self.namespace["session_fixture"] = self.session_fixture
        self.item: pytest.Item | None = None  # the block running now (set by the plugin)
        self.written: dict[Path, Written] = {}
        self.failed_line: int | None = None
        self._runner: asyncio.Runner | None = None
        self._cwd = os.getcwd()
        self._environ = dict(os.environ)
        for name in list(os.environ):
            if name.upper().startswith("TAUSESTACK_"):
                del os.environ[name]
        os.chdir(self.folder)
        sys.path.insert(0, str(self.folder))
        sys.modules[self.module.__name__] = self.module
        _forget_default_app()
        self._tables = set(_table_metadata().tables) if "sqlmodel" in sys.modules else set()

    def close(self) -> None:
        """Restore the process as it was; fail if a written module was never imported."""
        orphans = [] if self.failed_line is not None else self._orphans()
        try:
            try:
                self.at_end.close()
            finally:
                if self._runner is not None:
                    self._runner.close()
        finally:
            self._restore()
        if orphans:
            pytest.fail("\n".join(orphans), pytrace=False)

    def _restore(self) -> None:
        try:
            forget_modules_under(self.folder)
            sys.modules.pop(self.module.__name__, None)
            sys.path.remove(str(self.folder))
            os.chdir(self._cwd)
            os.environ.clear()
            os.environ.update(self._environ)
            _forget_default_app()
            if "sqlmodel" in sys.modules:
                _forget_tables(keep=self._tables)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _orphans(self) -> list[str]:
        imported = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
        return [
            f"{self.name}:{written.block_line} wrote {written.relative}, but no block imported "
            "it: use it in a later block (an invisible one will do, see tests/docs/plugin.py) "
            'or skip the block with <!-- skip: next "why" -->.'
            for path, written in self.written.items()
            if path.suffix == ".py" and str(path) not in imported
        ]

    def session_fixture(self, name: str) -> Any:
        """The value of one of the suite's session-scoped fixtures (``redis_server``,
        ``postgres_server``, ``moto_server``…): a real server for the blocks that follow.

        Without the server, the block is skipped with the fixture's reason (a failure under
        ``REQUIRE_REAL_SERVICES=1``). A narrower fixture would end with the block that asked.
        """
        assert self.item is not None
        definitions = self.item.session._fixturemanager.getfixturedefs(name, self.item)
        if not definitions:
            raise LookupError(f"{self.name}: no fixture {name!r} (see tests/conftest.py)")
        if definitions[-1].scope != "session":
            raise ValueError(
                f"{self.name}: fixture {name!r} is {definitions[-1].scope}-scoped and would end "
                "with this block; ask for a session-scoped one (redis_server, postgres_server…)."
            )
        return self.item._request.getfixturevalue(name)  # type: ignore[attr-defined]

    def write(self, file: BlockFile, block_line: int) -> None:
        """Write one file of a block; Python files must compile."""
        if Path(file.path).is_absolute() or ".." in Path(file.path).parts:
            raise ValueError(f"{file.path}: a file block's path is relative, inside the project")
        if file.path.endswith(".py"):
            compile("\n" * (file.first_line - 1) + file.text, str(self.path), "exec")
        target = self.project.write(file.path, file.text)
        self.written[target] = Written(file.path, block_line, file.first_line)

    def execute(self, source: str, first_line: int) -> None:
        """Run Python source in the document's namespace; top-level ``await`` is allowed."""
        code = compile(
            "\n" * (first_line - 1) + source,
            str(self.path),
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
        if code.co_flags & inspect.CO_COROUTINE:
            if self._runner is None:
                self._runner = asyncio.Runner()
            self._runner.run(eval(code, self.namespace))
        else:
            exec(code, self.namespace)

    @contextmanager
    def recording(self, example: Example) -> Iterator[None]:
        """Skip when an earlier block failed; remember a failure and say which written file
        lines are which document lines."""
        if self.failed_line is not None:
            pytest.skip(f"{NOT_RUN}the block at {self.name}:{self.failed_line} failed")
        try:
            yield
        except unittest.SkipTest:
            raise
        except (Exception, pytest.fail.Exception) as error:
            self.failed_line = example.line
            for note in self._file_notes(error):
                error.add_note(note)
            raise

    def _file_notes(self, error: BaseException) -> list[str]:
        places = [
            (frame.filename, frame.lineno) for frame in traceback.extract_tb(error.__traceback__)
        ]
        if isinstance(error, SyntaxError) and error.filename:
            places.append((error.filename, error.lineno))
        notes = []
        for filename, line in places:
            written = self.written.get(Path(filename))
            if written is not None and line is not None:
                notes.append(
                    f"{written.relative}:{line} is {self.name}:{written.first_line + line - 1}"
                )
        return notes


def _forget_default_app() -> None:
    # SDK calls outside any app build one app from the current directory's settings, once per
    # process (tausestack.sdk._context); each document has its own directory.
    from tausestack.sdk import _context

    _context._default.clear()


def _table_metadata() -> Any:
    from sqlmodel import SQLModel

    return SQLModel.metadata


def _forget_tables(keep: set[str]) -> None:
    # Table models register in SQLModel's one metadata: another document may define a `hero`.
    metadata = _table_metadata()
    for name, table in list(metadata.tables.items()):
        if name not in keep:
            metadata.remove(table)


def run_of(example: Example) -> DocumentRun:
    run: DocumentRun = example.namespace[RUN_KEY]
    return run


def source_of(example: Example) -> tuple[str, int]:
    """A block's source and the document line of its first line."""
    lexeme = example.parsed
    return str(lexeme), example.line + lexeme.line_offset + 1


def evaluate_python(example: Example) -> None:
    """A file block is written to the document's folder; any other block is executed."""
    run = run_of(example)
    source, first_line = source_of(example)
    with run.recording(example):
        files = split_files(source, first_line)
        for file in files:
            run.write(file, example.line)
        if not files:
            run.execute(source, first_line)


def evaluate_yaml(example: Example) -> None:
    """A YAML block must parse; a file block is also written to the document's folder."""
    run = run_of(example)
    source, first_line = source_of(example)
    with run.recording(example):
        try:
            yaml.safe_load(source)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark
            line = first_line + (mark.line if mark is not None else 0)
            pytest.fail(f"{run.name}:{line}: invalid YAML: {error}", pytrace=False)
        for file in split_files(source, first_line):
            run.write(file, example.line)


def refuse(example: Example) -> None:
    pytest.fail(f"{run_of(example).name}:{example.line}: {example.parsed}", pytrace=False)


SKIP_FORM = '<!-- skip: next "why it cannot run" -->'


class ReasonedSkipParser(SkipParser):
    """Sybil's ``<!-- skip: next "REASON" -->`` (and ``start "REASON"`` … ``end``), where the
    reason is a required string literal: a skip without one fails instead of passing."""

    def __call__(self, document: Document) -> Iterable[Region]:
        for lexed in self.lexers(document):
            arguments = (lexed.lexemes.get("arguments") or "").strip()
            action, _, reason = arguments.partition(" ")
            problem = _skip_problem(action, reason.strip())
            if problem:
                yield Region(lexed.start, lexed.end, problem, refuse)
            else:
                yield Region(lexed.start, lexed.end, (action, reason.strip() or None), self.skipper)


def _skip_problem(action: str, reason: str) -> str | None:
    if action == "end":
        return None if not reason else f"'skip: end' takes no reason; {SKIP_FORM}"
    if action not in ("next", "start"):
        return f"unknown skip action {action!r}: {SKIP_FORM}"
    try:
        text = ast.literal_eval(reason) if reason else None
    except (ValueError, SyntaxError):
        text = None
    if not isinstance(text, str) or not text.strip():
        return f"a skip needs its reason: {SKIP_FORM}"
    return None


class MarkdownDocument(Document):
    """A Markdown document whose namespace knows its path (for the run's setup)."""

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text, path)
        self.namespace[PATH_KEY] = path


def parsers() -> list[Any]:
    return [
        ReasonedSkipParser(),
        CodeBlockParser(language="python", evaluator=evaluate_python),
        CodeBlockParser(language="yaml", evaluator=evaluate_yaml),
    ]
