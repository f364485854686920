"""The Firebase Auth emulator (firebase-tools) as a real child process, for the auth tests.

:class:`FirebaseEmulator` writes a ``firebase.json`` into a temporary folder, runs
``firebase emulators:start --only auth`` there on free loopback ports (auth, hub and logging; the
UI off, as it would try to download itself), and stops it with SIGINT. The fixtures in
``tests/firebase_fixtures.py`` start one per test session.

firebase-tools is found, in order: the ``FIREBASE_TOOLS`` environment variable (the path of
``firebase.js``), ``firebase`` on PATH, or the folder ``.ci/run`` installs it into,
``$XDG_CACHE_HOME/tausestack/firebase-tools`` (``~/.cache/…`` by default). Missing, the tests
skip with how to install it (or fail under ``REQUIRE_REAL_SERVICES=1``). Starting takes 6 to
10 s, mostly the emulator compiling its API schema.

Tokens from the emulator are unsigned; firebase-admin accepts them only while
``FIREBASE_AUTH_EMULATOR_HOST`` names the emulator (see :meth:`FirebaseEmulator.environment`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Self

import httpx2

from tests.processes import free_port, port_closed
from tests.servers import ServerProcess
from tests.services import require_binary, unavailable, wait_for

FIREBASE_TOOLS_VARIABLE = "FIREBASE_TOOLS"
PROJECT_ID = "demo-tausestack"  # "demo-" ids never reach a real project
NODE_INSTALL_HINT = "install Node.js: `apt-get install -y nodejs npm` (.ci/run does this)"
FIREBASE_INSTALL_HINT = (
    "install the Firebase Auth emulator: `npm install --prefix "
    "~/.cache/tausestack/firebase-tools firebase-tools` (.ci/run does this; needs Node.js), or "
    f"set {FIREBASE_TOOLS_VARIABLE} to the path of firebase-tools' lib/bin/firebase.js"
)


def default_install_folder() -> Path:
    """Where ``.ci/run`` installs firebase-tools (``npm install --prefix``)."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "tausestack" / "firebase-tools"


def firebase_command() -> list[str]:
    """The command that runs firebase-tools; skips (or fails) when it is nowhere."""
    script = os.environ.get(FIREBASE_TOOLS_VARIABLE)
    if script:
        if not Path(script).is_file():
            unavailable(
                f"{FIREBASE_TOOLS_VARIABLE}={script} is not a file; {FIREBASE_INSTALL_HINT}"
            )
        return [require_binary("node", "install Node.js: `apt-get install -y nodejs`"), script]
    on_path = shutil.which("firebase")
    if on_path:
        return [on_path]
    installed = default_install_folder() / "node_modules/firebase-tools/lib/bin/firebase.js"
    if not installed.is_file():
        unavailable(
            f"firebase-tools not found (looked at ${FIREBASE_TOOLS_VARIABLE}, PATH and "
            f"{installed}); {FIREBASE_INSTALL_HINT}"
        )
    return [require_binary("node", NODE_INSTALL_HINT), str(installed)]


class FirebaseEmulator(ServerProcess):
    """The Firebase Auth emulator on ``127.0.0.1:port``, for project :data:`PROJECT_ID`.

    Example::

        with FirebaseEmulator() as emulator:
            monkeypatch.setenv("FIREBASE_AUTH_EMULATOR_HOST", emulator.host)
            token = emulator.sign_in("ada@example.com", "secret-password")
    """

    name = "firebase-auth"
    ready_timeout = 90.0
    project_id = PROJECT_ID
    #: firebase-tools shuts its emulators down cleanly on SIGINT (SIGTERM skips that).
    stop_signal = signal.SIGINT

    def __init__(self) -> None:
        super().__init__()
        self._tools: list[str] = []
        self._other_ports: tuple[int, int] = (0, 0)

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, the value of ``FIREBASE_AUTH_EMULATOR_HOST``."""
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def environment(self) -> dict[str, str]:
        """The variables that point firebase-admin at this emulator."""
        return {"FIREBASE_AUTH_EMULATOR_HOST": self.host}

    def start(self) -> Self:
        """Find firebase-tools (skip or fail without it), then start the emulator."""
        self._tools = firebase_command()
        super().start()
        return self

    def command(self) -> list[str]:
        return [*self._tools, "emulators:start", "--only", "auth", "--project", PROJECT_ID]

    def _launch(self) -> bool:
        assert self.folder is not None
        hub, logging = free_port(), free_port()
        self._other_ports = (hub, logging)
        loopback = "127.0.0.1"
        config = {
            "emulators": {
                "auth": {"host": loopback, "port": self.port},
                "hub": {"host": loopback, "port": hub},
                "logging": {"host": loopback, "port": logging},
                "ui": {"enabled": False},
                "singleProjectMode": True,
            }
        }
        (self.folder / "firebase.json").write_text(json.dumps(config), encoding="utf-8")
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                cwd=self.folder,
                env=self._environment_of_the_process(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process
        answered = wait_for(lambda: process.poll() is not None or self.ready(), self.ready_timeout)
        if answered and process.poll() is None:
            return True
        self._terminate()
        return False

    def _environment_of_the_process(self) -> dict[str, str]:
        assert self.folder is not None
        environment = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("FIREBASE_", "GOOGLE_", "GCLOUD_"))
        }
        # TMPDIR: firebase-tools writes a per-project hub locator (hub-<project>.json) there,
        # which two runs on one machine would otherwise share. HOME: its config store.
        environment.update(
            TMPDIR=str(self.folder), HOME=str(self.folder), CI="1", NO_UPDATE_NOTIFIER="1"
        )
        return environment

    def ready(self) -> bool:
        try:
            response = httpx2.get(self.base_url + "/", timeout=1)
        except httpx2.TransportError:
            return False
        return response.status_code == 200 and "authEmulator" in response.text

    def closed(self) -> bool:
        return all(port_closed(port) for port in (self.port, *self._other_ports) if port)

    def stop(self) -> None:
        """Stop the emulator (SIGINT, then a kill after 15 s) and check its ports closed."""
        started = self.folder is not None
        super().stop()
        if started and not self.closed():
            ports = (self.port, *self._other_ports)
            raise RuntimeError(f"the Firebase emulator still listens on one of {ports}")

    # -- for tests --------------------------------------------------------------------------

    def reset(self) -> None:
        """Delete every account of the project."""
        url = f"{self.base_url}/emulator/v1/projects/{PROJECT_ID}/accounts"
        httpx2.delete(url, timeout=10).raise_for_status()

    def sign_in(self, email: str, password: str) -> str:
        """An ID token for the account, as a client SDK gets it (email and password)."""
        response = self._identity_toolkit(
            "accounts:signInWithPassword",
            {"email": email, "password": password, "returnSecureToken": True},
        )
        token: str = response["idToken"]
        return token

    def _identity_toolkit(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/identitytoolkit.googleapis.com/v1/{method}?key=any"
        response = httpx2.post(url, json=body, timeout=10)
        if response.status_code != 200:
            raise RuntimeError(f"{method} answered {response.status_code}: {response.text}")
        answer: dict[str, Any] = response.json()
        return answer
