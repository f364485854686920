"""TauseStack works with the lowest versions of its dependencies that pyproject.toml allows.

A fresh virtual environment gets this checkout and its ``auth``, ``postgres``, ``redis`` and
``diskcache`` extras with every direct dependency pinned to the floor pyproject.toml declares
for it (a pip constraints file made from ``[project.dependencies]``, those extras and pytest's
floor in ``dev``); their own dependencies are the newest they allow, as in a user's fresh
install. The core tests then run there: settings, discovery, the container, controllers, the
command line, token signatures (cryptography through PyJWT), and the cache contract on its
three backends (a real Redis). A floor that cannot be installed with the others, or that one of
these tests fails on, fails this test: raise it in pyproject.toml.
"""

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.e2e

CHECKOUT = Path(__file__).resolve().parents[2]
CORE_TESTS = [
    "tests/test_settings.py",
    "tests/test_discovery.py",
    "tests/test_app.py",
    "tests/test_public_api.py",
    "tests/test_lazy_imports.py",
    "tests/di",
    "tests/web/test_controllers.py",
    "tests/web/test_inject.py",
    "tests/cli",
    "tests/sdk/auth/test_jwt.py::test_asymmetric_keys_sign_and_verify",
    "tests/sdk/auth/test_jwt.py::test_rs256_public_key_used_as_an_hmac_secret_is_refused",
    "tests/sdk/auth/test_jwt.py::test_previous_keys_verify_old_tokens_after_a_rotation",
    # The cache contract on memory, disk (diskcache) and a real Redis (redis-py).
    "tests/contract/test_cache.py",
    "tests/contract/test_cache_cached.py",
    "tests/contract/test_cache_expiry.py",
    "tests/contract/test_cache_serialization.py",
]
#: End-to-end tests (they need the dev tools), tests that need a server this environment does
#: not start (Redis it does: the suite's fixture runs the installed redis-server), and the docs
#: harness's plugin (sybil is a dev dependency, not installed here).
LEFT_OUT = [
    "-p",
    "no:tests.docs.plugin",
    "-m",
    "not e2e and not postgres and not mysql and not s3 and not firebase and not smtp",
]
#: ``auth`` for the token tests; ``postgres`` because the CLI tests of database errors name the
#: psycopg driver (without a server); ``redis`` and ``diskcache`` for the cache contract. Not
#: ``tasks``: taskiq-redis's floor asks for redis 7.0, above the ``redis`` extra's.
EXTRAS = ["auth", "postgres", "redis", "diskcache"]


def floors() -> dict[str, str]:
    """``name -> lowest allowed version`` of every direct dependency, the extras' and pytest's."""
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = [line for extra in EXTRAS for line in project["optional-dependencies"][extra]]
    testing = [line for line in project["optional-dependencies"]["dev"] if "pytest" in line]
    found: dict[str, str] = {}
    for line in [*project["dependencies"], *extras, *testing]:
        requirement = Requirement(line)
        lowest = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        assert lowest, f"{line}: every dependency needs a tested floor (>=)"
        found[requirement.name] = lowest[0]
    return found


def run(command: list[str], cwd: Path, timeout: float = 600) -> str:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TAUSESTACK_", "VIRTUAL_ENV", "PYTHONPATH", "REQUIRE_REAL"))
    }
    result = subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_the_declared_floors_install_together_and_pass_the_core_tests(tmp_path: Path) -> None:
    pins = floors()
    constraints = tmp_path / "floors.txt"
    constraints.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "--quiet", "-c", str(constraints)]
    run([*install, "-e", f"{CHECKOUT}[{','.join(EXTRAS)}]", "pytest"], cwd=tmp_path)

    installed = run([python, "-m", "pip", "list", "--format", "freeze"], cwd=tmp_path)
    versions = dict(line.split("==") for line in installed.splitlines() if "==" in line)
    for name, version in pins.items():
        listed = next(value for key, value in versions.items() if _same(key, name))
        assert _release(listed) == _release(version), f"{name}: {listed} installed, not {version}"

    # Its own temporary folder, so its clean-up of old runs cannot touch this run's folders.
    options = ["-q", "-x", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner")]
    tests = [python, "-m", "pytest", *options, *LEFT_OUT]
    output = run([*tests, *CORE_TESTS], cwd=CHECKOUT, timeout=900)
    assert " passed" in output.splitlines()[-1]
    assert " failed" not in output.splitlines()[-1]


def _same(first: str, second: str) -> bool:
    """Distribution names compare case-insensitively, with ``-``, ``_`` and ``.`` alike."""
    normal = str.maketrans("_.", "--")
    return first.lower().translate(normal) == second.lower().translate(normal)


def _release(version: str) -> tuple[int, ...]:
    """``(1, 0, 0)`` for "1.0" and "1.0.0" alike."""
    parts = [int(part) for part in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)
