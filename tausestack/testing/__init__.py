"""Testing helpers: build an app with settings and overrides, talk to it, give it a test database.

::

    from tausestack.testing import AsyncTestClient, TestClient, create_test_app

    def test_read_user() -> None:
        app = create_test_app(installed_apps=["apps.users"], overrides={UserRepository: Fake()})
        with TestClient(app) as client:          # runs the lifespan: start() hooks, etc.
            assert client.get("/users/1").status_code == 200

    async def test_read_user_async() -> None:
        async with AsyncTestClient(create_test_app(installed_apps=["apps.users"])) as client:
            assert (await client.get("/users/1")).status_code == 200

The pytest plugin (installed with the package) adds the fixtures ``tausestack_settings``,
``tausestack_overrides``, ``tausestack_app``, ``tausestack_client``, ``tausestack_database``
and, under anyio, ``tausestack_async_client``; see :mod:`tausestack.testing.plugin`.

The names are imported on first use (PEP 562), so that pytest loading the plugin in every
project where TauseStack is installed does not import FastAPI or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from ._clients import AsyncTestClient, TestClient, create_test_app
    from ._database import TestDatabase
    from .errors import TestDatabaseError

__all__ = ["AsyncTestClient", "TestClient", "TestDatabase", "TestDatabaseError", "create_test_app"]

_MODULES = {
    "._clients": ("AsyncTestClient", "TestClient", "create_test_app"),
    "._database": ("TestDatabase",),
    ".errors": ("TestDatabaseError",),
}

# Hidden from type checkers, which read the imports above (and would take a typo for Any).
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_names(__name__, _MODULES)
