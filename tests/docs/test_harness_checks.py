"""What the docs harness (tests/docs/plugin.py) refuses: skips without a reason, Python blocks
it would not run, files nobody imports, YAML that does not parse.

Each test runs the plugin on small documents of its own, as tests/docs/test_harness.py does.
"""

from __future__ import annotations

import pytest

from tests.docs.test_harness import run_docs


def test_skips_need_a_reason(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            # Guide

            <!-- skip: next "needs a mail server" -->
            ```python
            raise RuntimeError("never run")
            ```

            <!-- skip: next -->
            ```python
            value = 1
            ```
            """
        },
    )
    result.stdout.fnmatch_lines(
        [
            '*docs/guide.md:8: a skip needs its reason: <!-- skip: next "why it cannot run" -->*',
            "SKIPPED [1] docs/guide.md:4: needs a mail server",
        ]
    )
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        ["docs: 2 Python blocks in 1 document — 1 run, 1 skipped with a reason, 0 untested*"]
    )


def test_python_blocks_the_harness_does_not_run_fail_the_suite(
    pytester: pytest.Pytester,
) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            # Guide

            ```py
            value = 1
            ```

            ```
            import os
            ```

            Indented:

                print("hello")

            ```text
            apps/users/
                __init__.py
            ```

            ```bash
            pip install tausestack
            ```
            """
        },
    )
    result.stdout.fnmatch_lines(
        [
            "*docs/guide.md:3: a ```py block is not run*",
            "*docs/guide.md:7: a ``` block is not run*",
            "*docs/guide.md:13: an indented block is not run*",
            "docs: 3 Python blocks in 1 document — 0 run, 0 skipped with a reason, 3 untested*",
        ]
    )
    result.assert_outcomes(failed=1)


def test_a_written_module_nobody_imports_is_an_error(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            ```python
            # apps/orphan.py
            VALUE = 1
            ```
            """
        },
    )
    result.stdout.fnmatch_lines(
        ["*docs/guide.md:1 wrote apps/orphan.py, but no block imported it*"]
    )
    result.assert_outcomes(passed=2, errors=1)


def test_yaml_blocks_must_parse(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            ```yaml
            app: {title: [unclosed
            ```
            """
        },
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*docs/guide.md:3: invalid YAML: while parsing a flow*"])


def test_skip_start_and_end_cover_several_blocks(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            <!-- skip: start "needs AWS" -->
            ```python
            raise RuntimeError("never run")
            ```

            ```python
            raise RuntimeError("never run either")
            ```
            <!-- skip: end -->

            ```python
            value = 1
            ```
            """
        },
    )
    result.assert_outcomes(passed=4, skipped=2)
    result.stdout.fnmatch_lines(
        ["docs: 3 Python blocks in 1 document — 1 run, 2 skipped with a reason, 0 untested"]
    )
