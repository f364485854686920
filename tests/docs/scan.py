"""Which blocks of a Markdown document are Python, and which of them sybil collected.

The document is read with markdown-it-py (CommonMark, what GitHub renders), independently of
sybil's own lexers, so that a Python block sybil would not collect (```` ```py ````, an
unlabelled fence, an indented block) is counted as untested instead of silently passing.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt
from sybil import Document

from tests.docs.blocks import evaluate_python

PYTHON_LANGUAGES = {"python", "py", "python3", "py3", "pycon", "ipython", "pyi"}


@dataclass(frozen=True)
class PythonBlock:
    """A block a reader would take for Python, at ``line`` (its opening fence)."""

    line: int
    label: str
    collected: bool


@dataclass(frozen=True)
class DocumentBlocks:
    """A document's Python blocks, and how many invisible Python blocks it has."""

    name: str
    python: list[PythonBlock]
    hidden: int

    def untested_problems(self) -> list[str]:
        return [
            f"{self.name}:{block.line}: {block.label} block is not run: label it ```python, or "
            'put <!-- skip: next "why" --> before it; output and listings go in ```text.'
            for block in self.python
            if not block.collected
        ]


def _looks_like_python(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def scan(path: Path, name: str, document: Document) -> DocumentBlocks:
    """``path``'s Python blocks, matched with the examples of its sybil ``document``."""
    text = path.read_text(encoding="utf-8")
    collected = set()
    hidden = 0
    for _, region in document.regions:
        if region.evaluator is evaluate_python:
            if text.startswith("<!--", region.start):
                hidden += 1
            else:
                collected.add(text.count("\n", 0, region.start) + 1)
    blocks = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.map is None or token.type not in ("fence", "code_block"):
            continue
        line = token.map[0] + 1
        info = token.info.strip()
        language = info.split()[0].lower() if info else ""
        label = "an indented" if token.type == "code_block" else f"a {token.markup}{info}"
        if language in PYTHON_LANGUAGES or (not language and _looks_like_python(token.content)):
            blocks.append(PythonBlock(line, label, line in collected))
    return DocumentBlocks(name, blocks, hidden)
