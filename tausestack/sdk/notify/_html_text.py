"""The plain-text part of an email that has only HTML, derived from the HTML.

A small converter on the standard library's ``HTMLParser`` (html2text is GPL-licensed, and an
email needs little): paragraphs and headings become blank-line-separated blocks, ``<br>``, rows
and list items new lines (``- `` or ``1. `` in front of items), links keep their URL after the
text (``Confirm (https://…)``), images their ``alt`` text, ``<pre>`` its spacing; ``<head>``,
``<style>`` and ``<script>`` are left out, with everything in them (links and images too).
``<body>`` ends whatever hid text before it, since HTML5 lets a page leave out ``</head>``.
Entities are decoded.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["html_to_text"]

_PARAGRAPHS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "dl"}
)
_LINES = frozenset(
    {
        "div", "section", "article", "header", "footer", "main", "nav", "aside", "address",
        "figure", "figcaption", "form", "fieldset", "tr", "li", "dt", "dd", "center", "hr",
    }
)  # fmt: skip
_HIDDEN = frozenset({"head", "style", "script", "template", "noscript", "title"})
_SPACES = re.compile(r"\s+")


def html_to_text(html: str) -> str:
    """Readable plain text for ``html``."""
    parser = _TextWriter()
    parser.feed(html)
    parser.close()
    return parser.text()


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self._out: list[str] = []
        self._breaks = 0  # new lines owed before the next text
        self._hidden = 0
        self._pre = 0
        self._links: list[tuple[str, int]] = []  # (href, where its text starts in _out)
        self._lists: list[list[int]] = []  # one counter per open list; -1 for <ul>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "body":
            self._hidden = 0  # the head ends here, closed or not
        if tag in _HIDDEN:
            self._hidden += 1
        elif self._hidden:
            return
        elif tag == "br":
            self._out.append("\n")
            self._breaks = 0
        elif tag in ("ul", "ol"):
            self._break(1 if self._lists else 2)
            self._lists.append([-1] if tag == "ul" else [0])
        elif tag == "li":
            self._list_item()
        elif tag == "a":
            self._links.append((attributes.get("href") or "", len(self._out)))
        elif tag == "img" and attributes.get("alt"):
            self._write(_SPACES.sub(" ", attributes["alt"] or ""))
        elif tag in ("td", "th") and not self._after_space():
            self._write(" ")
        elif tag == "hr":
            self._break(1)
            self._write("----")
            self._break(1)
        if tag == "pre":
            self._pre += 1
        if tag in _PARAGRAPHS and tag not in ("ul", "ol"):
            self._break(2)
        elif tag in _LINES and tag not in ("li", "hr"):
            self._break(1)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif self._hidden:
            return
        elif tag == "a" and self._links:
            self._end_link(*self._links.pop())
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _PARAGRAPHS:
            self._break(2 if not self._lists else 1)
        elif tag in _LINES:
            self._break(1)

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._pre:
            self._write(data)
            return
        text = _SPACES.sub(" ", data)
        if self._after_space():
            text = text.lstrip()
        if text:
            self._write(text)

    def text(self) -> str:
        lines = [line.rstrip() for line in "".join(self._out).split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n") + "\n"

    def _list_item(self) -> None:
        self._break(1)
        counter = self._lists[-1] if self._lists else [-1]
        indent = "  " * max(0, len(self._lists) - 1)
        if counter[0] < 0:
            self._write(f"{indent}- ")
        else:
            counter[0] += 1
            self._write(f"{indent}{counter[0]}. ")

    def _end_link(self, href: str, start: int) -> None:
        label = "".join(self._out[start:]).strip()
        target = href.strip()
        if not target or target.startswith(("#", "javascript:")):
            return
        shown = target.removeprefix("mailto:")
        if shown != label:
            self._out.append(f" ({shown})" if label else shown)

    def _break(self, count: int) -> None:
        self._breaks = max(self._breaks, count)

    def _write(self, text: str) -> None:
        if self._breaks and self._out:
            self._out.append("\n" * self._breaks)
        self._breaks = 0
        self._out.append(text)

    def _after_space(self) -> bool:
        return self._breaks > 0 or not self._out or self._out[-1].endswith(("\n", " "))
