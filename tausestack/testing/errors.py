"""Errors of ``tausestack.testing``; each says what went wrong and how to fix it."""

from __future__ import annotations

from ..errors import TauseStackError

__all__ = ["TestDatabaseError"]


class TestDatabaseError(TauseStackError):
    """The test database cannot be made or used: an unsupported database, an unreachable
    server, migrations that leave out some of the installed apps' tables."""

    __test__ = False  # not a test class, though its name starts with "Test"
