"""Fixtures for the Firebase Auth emulator (see ``tests/firebase.py``).

``firebase_emulator`` starts one emulator for the test session; ``firebase`` gives a test that
emulator with no accounts and ``FIREBASE_AUTH_EMULATOR_HOST`` pointing at it (restored after the
test). Without firebase-tools (or firebase-admin) these tests skip, saying how to install it;
with ``REQUIRE_REAL_SERVICES=1`` they fail. Tests using them are marked ``firebase``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.firebase import FirebaseEmulator
from tests.services import require_module

FIREBASE_ADMIN_INSTALL_HINT = "install firebase-admin: `pip install -e '.[firebase]'`"


@pytest.fixture(scope="session")
def firebase_emulator() -> Iterator[FirebaseEmulator]:
    """One Firebase Auth emulator for the session, on free loopback ports."""
    require_module("firebase_admin", FIREBASE_ADMIN_INSTALL_HINT)
    with FirebaseEmulator() as emulator:
        yield emulator


@pytest.fixture
def firebase(
    firebase_emulator: FirebaseEmulator, monkeypatch: pytest.MonkeyPatch
) -> FirebaseEmulator:
    """The session's emulator, emptied, with ``FIREBASE_AUTH_EMULATOR_HOST`` set for this test."""
    firebase_emulator.reset()
    for name, value in firebase_emulator.environment().items():
        monkeypatch.setenv(name, value)
    return firebase_emulator
