"""Discovery: what is collected from installed apps, in which order, and the error messages."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from tausestack.discovery import discover
from tausestack.errors import AppImportError, AppNotFoundError, DiscoveryError
from tests.conftest import Project

SERVICES = """
from tausestack import Service, provider

@Service
class Zeta:
    pass

@Service
class Alpha:
    pass

class NotAComponent:
    pass

@provider
def make_number() -> int:
    return 42
"""


def names(objects: list[object]) -> list[str]:
    return [getattr(obj, "__name__", repr(obj)) for obj in objects]


def test_collects_components_in_app_then_definition_order(project: Project) -> None:
    project.write("shop/users/services.py", SERVICES)
    project.write(
        "shop/users/controllers.py",
        """
        from tausestack import Controller, get
        from shop.users.services import Alpha

        @Controller("/users")
        class UserController:
            def __init__(self, alpha: Alpha) -> None:
                self.alpha = alpha

            @get("/")
            async def index(self) -> list[str]:
                return []
        """,
    )
    project.write(
        "shop/billing/services.py",
        """
        from tausestack import Repository

        @Repository
        class InvoiceRepository:
            pass
        """,
    )
    found = discover(["shop.billing", "shop.users"])
    assert [app.name for app in found.apps] == ["shop.billing", "shop.users"]
    assert [app.label for app in found.apps] == ["billing", "users"]
    assert names(found.components) == [
        "InvoiceRepository",
        "Zeta",
        "Alpha",
        "make_number",
        "UserController",
    ]
    assert found.apps[1].modules == ["shop.users", "shop.users.services", "shop.users.controllers"]


def test_imported_components_belong_to_their_own_app(project: Project) -> None:
    project.write("shop/users/services.py", SERVICES)
    project.write(
        "shop/orders/services.py",
        """
        from tausestack import Service
        from shop.users.services import Alpha

        @Service
        class OrderService:
            def __init__(self, alpha: Alpha) -> None:
                self.alpha = alpha
        """,
    )
    found = discover(["shop.orders"])
    assert names(found.components) == ["OrderService"]


def test_routers_come_from_routes_modules_only(project: Project) -> None:
    project.write(
        "shop/users/routes.py",
        """
        from fastapi import APIRouter

        router = APIRouter(prefix="/plain")
        admin = APIRouter(prefix="/admin")
        same_router_again = router
        """,
    )
    project.write(
        "shop/users/services.py",
        """
        from fastapi import APIRouter

        ignored = APIRouter(prefix="/ignored")
        """,
    )
    found = discover(["shop.users"])
    assert [router.prefix for router in found.routers] == ["/plain", "/admin"]
    assert all(isinstance(router, APIRouter) for router in found.routers)


def test_settings_sections_are_collected(project: Project) -> None:
    project.write(
        "shop/users/settings.py",
        """
        from tausestack import SettingsSection

        class UsersSettings(SettingsSection):
            page_size: int = 20
        """,
    )
    found = discover(["shop.users"])
    assert names(found.sections) == ["UsersSettings"]
    assert found.components == []


def test_module_list_is_a_setting(project: Project) -> None:
    project.write(
        "shop/users/handlers.py",
        """
        from tausestack import Service

        @Service
        class Handler:
            pass
        """,
    )
    assert discover(["shop.users"]).components == []
    assert names(discover(["shop.users"], modules=["handlers"]).components) == ["Handler"]


def test_single_module_app(project: Project) -> None:
    project.write("tiny.py", SERVICES)
    found = discover(["tiny"])
    assert names(found.components) == ["Zeta", "Alpha", "make_number"]


def test_components_in_the_app_package_itself(project: Project) -> None:
    project.write("shop/users/__init__.py", SERVICES)
    assert names(discover(["shop.users"]).components) == ["Zeta", "Alpha", "make_number"]


def test_missing_app_suggests_near_names(project: Project) -> None:
    project.write("shop/users/services.py", SERVICES)
    with pytest.raises(AppNotFoundError) as caught:
        discover(["shop.userz"])
    message = str(caught.value)
    assert "installed_apps lists 'shop.userz', but no module of that name exists." in message
    assert "Did you mean 'shop.users'?" in message


def test_missing_top_level_package(project: Project) -> None:
    project.write("shop/users/services.py", SERVICES)
    with pytest.raises(AppNotFoundError) as caught:
        discover(["shopp.users"])
    message = str(caught.value)
    assert "its package 'shopp' cannot be imported" in message
    assert "Did you mean 'shop'?" in message
    assert str(project.root) in message


def test_file_path_entry_is_explained(project: Project) -> None:
    with pytest.raises(AppNotFoundError, match="Write it as a dotted module path: 'apps.users'"):
        discover(["apps/users"])


def test_duplicate_and_malformed_entries() -> None:
    with pytest.raises(DiscoveryError, match="lists 'a' twice"):
        discover(["a", "a"])
    with pytest.raises(DiscoveryError, match="must be a list of module paths"):
        discover("apps.users")  # type: ignore[arg-type]
    with pytest.raises(AppNotFoundError, match="is not a Python module path"):
        discover(["apps.users-v2"])


def test_import_error_names_app_module_and_keeps_traceback(project: Project) -> None:
    project.write(
        "shop/users/services.py",
        """
        from tausestack import Service

        def explode() -> None:
            raise RuntimeError("database URL missing")

        explode()
        """,
    )
    with pytest.raises(AppImportError) as caught:
        discover(["shop.users"])
    error = caught.value
    assert error.app == "shop.users"
    assert error.module == "shop.users.services"
    message = str(error)
    assert "Installed app 'shop.users' could not be loaded" in message
    assert "importing 'shop.users.services' raised RuntimeError: database URL missing" in message
    assert "Original traceback:" in message
    assert 'services.py", line 6, in <module>' in message
    assert isinstance(error.__cause__, RuntimeError)


def test_missing_dependency_inside_a_module_is_an_import_error(project: Project) -> None:
    project.write("shop/users/services.py", "import a_package_that_is_not_installed\n")
    with pytest.raises(AppImportError, match="ModuleNotFoundError: No module named"):
        discover(["shop.users"])


def test_failing_app_package_is_an_import_error(project: Project) -> None:
    project.write("shop/users/__init__.py", "raise ValueError('bad init')\n")
    with pytest.raises(AppImportError, match="importing 'shop.users' raised ValueError: bad init"):
        discover(["shop.users"])


def test_failing_parent_package_is_an_import_error(project: Project) -> None:
    project.write("shop/__init__.py", "raise ValueError('bad parent')\n")
    project.write("shop/users/services.py", SERVICES)
    with pytest.raises(AppImportError, match="ValueError: bad parent"):
        discover(["shop.users"])


def test_routers_included_by_another_router_come_only_with_it(project: Project) -> None:
    project.write(
        "shop/admin/routes.py",
        """
        from fastapi import APIRouter

        items = APIRouter(prefix="/items")
        reports = APIRouter(prefix="/reports")
        items.include_router(reports)
        router = APIRouter(prefix="/admin")
        router.include_router(items)
        public = APIRouter(prefix="/public")
        """,
    )
    found = discover(["shop.admin"])
    assert [router.prefix for router in found.routers] == ["/admin", "/public"]


def test_conventional_modules_may_be_packages(project: Project) -> None:
    project.write(
        "shop/users/controllers/__init__.py",
        """
        from shop.users.controllers.profiles import ProfileController

        __all__ = ["ProfileController"]
        """,
    )
    for name in ("profiles", "accounts"):
        project.write(
            f"shop/users/controllers/{name}.py",
            f"""
            from tausestack import Controller, get

            @Controller("/{name}")
            class {name.title()[:-1]}Controller:
                @get("/")
                async def index(self) -> list[int]:
                    return []
            """,
        )
    project.write(
        "shop/users/routes/__init__.py", "from fastapi import APIRouter\n\nrouter = APIRouter()\n"
    )
    project.write(
        "shop/users/routes/extra.py", "from fastapi import APIRouter\n\nextra = APIRouter()\n"
    )
    found = discover(["shop.users"])
    assert names(found.components) == ["AccountController", "ProfileController"]
    assert len(found.routers) == 2
    assert found.apps[0].modules[-2:] == ["shop.users.routes", "shop.users.routes.extra"]


def test_parent_package_importing_a_missing_module(project: Project) -> None:
    project.write("shop/__init__.py", "import a_library_that_is_not_installed\n")
    project.write("shop/users/services.py", SERVICES)
    with pytest.raises(AppImportError) as caught:
        discover(["shop.users"])
    assert "No module named 'a_library_that_is_not_installed'" in str(caught.value)
    assert caught.value.module == "shop"
