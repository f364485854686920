"""The code blocks of README.md and docs/*.md, run against the real code.

Collected by tests/docs/plugin.py (its docstring has the conventions for writing docs), one item
per block, named by document and line (``test_documents.py::docs/di.md::line:12,column:1``).
"""
