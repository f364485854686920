"""The docs harness itself (tests/docs/plugin.py), run on small documents of its own.

Each test writes a README.md and docs/*.md into a scratch project that registers the plugin,
runs pytest on it in this process and reads the outcome and the summary line.
"""

from __future__ import annotations

import textwrap

import pytest

CONFTEST = 'pytest_plugins = ["tests.docs.plugin"]\n'
TRIGGER = '"""The documents\' blocks, collected by tests.docs.plugin."""\n'


def run_docs(pytester: pytest.Pytester, documents: dict[str, str], *args: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.mkpydir("docs_tests")
    (pytester.path / "docs_tests" / "test_documents.py").write_text(TRIGGER)
    for name, text in documents.items():
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-rs", *args)


def test_blocks_run_in_order_in_one_namespace_and_folder(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "README.md": """
            # Project

            ```python
            # apps/users/services.py
            def greet(name: str) -> str:
                return f"Hello {name}"
            ```

            ```yaml
            # application.yaml
            installed_apps: [apps.users]
            ```

            ```python
            import asyncio
            from pathlib import Path

            from apps.users.services import greet

            message = greet("Ada")
            await asyncio.sleep(0)
            ```

            ```python
            assert message == "Hello Ada"
            assert Path("application.yaml").read_text().startswith("# application.yaml")
            ```
            """
        },
    )
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(
        ["docs: 3 Python blocks in 1 document — 3 run, 0 skipped with a reason, 0 untested*"]
    )


def test_a_failing_block_names_the_document_line_and_error(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            # Guide

            ```python
            value = 1
            ```

            ```python
            value = undefined_name + 1
            ```

            ```python
            assert value == 2
            ```
            """
        },
    )
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*docs/guide.md:8: in <module>",
            "*NameError: name 'undefined_name' is not defined*",
            "SKIPPED [1] docs/guide.md:11: not run: the block at docs/guide.md:7 failed",
        ]
    )
    result.stdout.fnmatch_lines(["docs: 3 Python blocks in 1 document — 2 run (1 failed)*"])


def test_an_error_in_a_written_file_points_at_its_block(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            # Guide

            ```python
            # apps/broken.py
            x = 1
            y = x.missing
            ```

            ```python
            import apps.broken
            ```
            """
        },
    )
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*apps/broken.py:3 is docs/guide.md:6*"])


def test_documents_get_a_clean_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAUSESTACK_PROFILE", "prod")
    result = run_docs(
        pytester,
        {
            "docs/a.md": """
            ```python
            import os
            from pathlib import Path

            assert "TAUSESTACK_PROFILE" not in os.environ
            assert not list(Path.cwd().iterdir())
            os.environ["TAUSESTACK_APP__TITLE"] = "Leaked"
            Path("leftover.txt").write_text("x")
            ```
            """,
            "docs/b.md": """
            ```python
            import os
            from pathlib import Path

            assert "TAUSESTACK_APP__TITLE" not in os.environ
            assert not Path("leftover.txt").exists()
            ```
            """,
        },
    )
    result.assert_outcomes(passed=3)


def test_a_block_may_hold_several_files(pytester: pytest.Pytester) -> None:
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            ```python
            # apps/shop/models.py
            PRICE = 3

            # apps/shop/services.py
            from apps.shop.models import PRICE

            def total(count: int) -> int:
                return count * PRICE
            ```

            ```python
            from apps.shop.services import total

            assert total(2) == 6
            ```
            """
        },
    )
    result.assert_outcomes(passed=3)


def test_two_documents_may_define_the_same_table(pytester: pytest.Pytester) -> None:
    table = """
    ```python
    from sqlmodel import Field, SQLModel

    class Hero(SQLModel, table=True):
        id: int | None = Field(default=None, primary_key=True)
    ```
    """
    result = run_docs(pytester, {"docs/a.md": table, "docs/b.md": table})
    result.assert_outcomes(passed=3)


def test_at_document_end_closes_even_after_a_failure(pytester: pytest.Pytester) -> None:
    marker = pytester.path / "closed"
    result = run_docs(
        pytester,
        {
            "docs/guide.md": f"""
            ```python
            from pathlib import Path

            at_document_end.callback(Path({str(marker)!r}).touch)
            ```

            ```python
            raise RuntimeError("boom")
            ```
            """
        },
    )
    result.assert_outcomes(passed=2, failed=1)
    assert marker.exists()


def test_each_document_gets_its_own_default_app(pytester: pytest.Pytester) -> None:
    def document(title: str) -> str:
        return f"""
        ```yaml
        # application.yaml
        app: {{title: {title}}}
        ```

        ```python
        from tausestack import Settings
        from tausestack.sdk import current_container

        assert current_container().get(Settings).app.title == "{title}"
        ```
        """

    result = run_docs(pytester, {"docs/a.md": document("A"), "docs/b.md": document("B")})
    result.assert_outcomes(passed=5)


def test_blocks_reach_the_suites_session_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        servers="""
        import pytest

        @pytest.fixture(scope="session")
        def fake_server() -> str:
            return "redis://127.0.0.1:1/0"

        @pytest.fixture
        def fake_url() -> str:
            return "redis://127.0.0.1:1/1"

        @pytest.fixture(scope="session")
        def missing_server() -> str:
            pytest.skip("no such server here")
        """
    )
    pytester.syspathinsert()
    result = run_docs(
        pytester,
        {
            "docs/guide.md": """
            ```python
            url = session_fixture("fake_server")
            ```

            ```python
            assert url == "redis://127.0.0.1:1/0"
            session_fixture("fake_url")
            ```
            """,
            "docs/other.md": """
            ```python
            session_fixture("missing_server")
            ```
            """,
        },
        "-p",
        "servers",
    )
    result.stdout.fnmatch_lines(
        [
            "*fixture 'fake_url' is function-scoped and would end with this block*",
            "SKIPPED [1] docs/other.md:1: no such server here",
        ]
    )
    result.assert_outcomes(passed=2, failed=1, skipped=1)
