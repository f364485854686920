"""``@cached`` as type checkers see it: ``mypy --strict`` accepts the documented uses
(``typing_usage.py``) and still catches a wrong call."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ROOT = HERE.parents[2]


def mypy(*paths: Path) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed in this environment (pip install mypy)")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", *map(str, paths)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_the_documented_uses_type_check() -> None:
    result = mypy(HERE / "typing_usage.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_call_is_still_caught(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_usage.py"
    wrong.write_text(
        "from tests.sdk.cache.typing_usage import Directory, square\n"
        "square('three')\n"
        "Directory.version('three')\n",
        encoding="utf-8",
    )
    result = mypy(wrong)
    assert result.returncode == 1, result.stdout
    assert result.stdout.count('incompatible type "str"; expected "int"') == 2, result.stdout
