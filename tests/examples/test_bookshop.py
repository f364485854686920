"""The bookshop example (examples/bookshop): every feature it shows, through real HTTP.

The example's modules import as the top-level packages ``apps`` and ``main``, which other test
folders may also use, so the ``bookshop`` fixture forgets them before and after each test and
puts the example folder first on ``sys.path`` and as the working directory (where Settings
finds its application.yaml). Example classes are imported inside the tests, after discovery
ran, so they are the very classes the app was built from.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx2
import pytest

from tausestack import TauseStackApp
from tausestack.testing import TestClient, create_test_app
from tests.processes import free_port, wait_until_serving

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "bookshop"
SEEDED_ISBNS = ["978-0131103627", "978-0262033848", "978-1491946008"]
C_BOOK, ALGORITHMS, FLUENT_PYTHON = SEEDED_ISBNS  # 5, 3 and 1 in stock; 4999, 8950, 5599 cents


def _forget_example_modules() -> None:
    for name in list(sys.modules):
        if name in {"apps", "main"} or name.startswith("apps."):
            del sys.modules[name]


@pytest.fixture
def bookshop(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The example folder, importable and the working directory, with fresh modules."""
    _forget_example_modules()
    monkeypatch.syspath_prepend(str(EXAMPLE_DIR))
    monkeypatch.chdir(EXAMPLE_DIR)
    yield EXAMPLE_DIR
    _forget_example_modules()


@pytest.fixture
def tausestack_settings(bookshop: Path) -> dict[str, Any]:
    """Configure the plugin's ``tausestack_app`` / ``tausestack_client`` for the example."""
    return {"config_dir": str(bookshop)}


@pytest.fixture
def example_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture the INFO records of the example's loggers (``apps.*``)."""
    caplog.set_level(logging.INFO, logger="apps")
    return caplog


def example(module: str) -> ModuleType:
    """A module of the example, e.g. ``example("orders.services")``."""
    return importlib.import_module(f"apps.{module}")


def place_order(
    client: TestClient, *lines: tuple[str, int], request_id: str | None = None
) -> httpx2.Response:
    """POST /orders for the customer "ada" with ``(isbn, quantity)`` lines."""
    headers = {"X-Request-ID": request_id} if request_id else {}
    body = {"customer": "ada", "lines": [{"isbn": i, "quantity": q} for i, q in lines]}
    return client.post("/orders", json=body, headers=headers)


def stock_of(client: TestClient, isbn: str) -> int:
    """The stock the catalog app reports for ``isbn``."""
    response = client.get(f"/books/{isbn}")
    assert response.status_code == 200, response.text
    stock: int = response.json()["stock"]
    return stock


def messages(logs: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """The messages one logger of the example emitted."""
    return [record.getMessage() for record in logs.records if record.name == logger]


# -- startup hook -------------------------------------------------------------------------------


def test_startup_hook_seeds_the_catalog_before_the_first_request(
    tausestack_app: TauseStackApp, example_logs: pytest.LogCaptureFixture
) -> None:
    services = example("catalog.services")
    catalog = tausestack_app.container.get(services.CatalogService)
    seeder = tausestack_app.container.get(services.CatalogSeeder)
    assert catalog.count() == 0  # built by create_app(), but start() has not run yet
    assert seeder.seeded == 0

    with TestClient(tausestack_app) as client:
        first = client.get("/books")
        assert first.status_code == 200
        assert [book["isbn"] for book in first.json()] == SEEDED_ISBNS
        assert first.json()[2] == {
            "isbn": FLUENT_PYTHON,
            "title": "Fluent Python",
            "author": "Luciano Ramalho",
            "price_cents": 5599,
            "stock": 1,
        }
        assert seeder.seeded == 3

    logged = messages(example_logs, "apps.catalog.services")
    assert logged == ["Catalog seeded with 3 book(s)", "Catalog closed with 3 book(s)"]


def test_startup_hook_does_not_seed_twice_when_the_app_restarts(
    tausestack_app: TauseStackApp,
) -> None:
    with TestClient(tausestack_app) as client:
        assert client.post("/books", json=_new_book("978-0000000001")).status_code == 201
    with TestClient(tausestack_app) as client:
        isbns = [book["isbn"] for book in client.get("/books").json()]
    assert isbns == [*SEEDED_ISBNS, "978-0000000001"]


def test_seed_books_come_from_the_catalog_settings_section(bookshop: Path) -> None:
    book = _new_book("978-0000000002", stock=4)
    app = create_test_app(catalog={"seed_books": [book], "low_stock_threshold": 4})
    settings = app.container.get(example("catalog.settings").CatalogSettings)
    assert settings.low_stock_threshold == 4

    with TestClient(app) as client:
        assert client.get("/books").json() == [book]
        assert client.get("/reports/sales").json()["low_stock"] == [book["isbn"]]


def _new_book(isbn: str, *, stock: int = 2) -> dict[str, Any]:
    return {"isbn": isbn, "title": "New", "author": "Someone", "price_cents": 100, "stock": stock}


# -- cross-app dependency -----------------------------------------------------------------------


def test_orders_take_prices_and_stock_from_the_catalog_app(
    tausestack_app: TauseStackApp, tausestack_client: TestClient
) -> None:
    response = place_order(tausestack_client, (C_BOOK, 2), (FLUENT_PYTHON, 1))

    assert response.status_code == 201, response.text
    order = response.json()
    assert order["id"] == 1
    assert order["lines"] == [
        {
            "isbn": C_BOOK,
            "title": "The C Programming Language",
            "quantity": 2,
            "unit_price_cents": 4999,
        },
        {"isbn": FLUENT_PYTHON, "title": "Fluent Python", "quantity": 1, "unit_price_cents": 5599},
    ]
    assert order["total_cents"] == 2 * 4999 + 5599
    # The catalog app's own routes see the stock the orders app took.
    assert stock_of(tausestack_client, C_BOOK) == 3
    assert stock_of(tausestack_client, FLUENT_PYTHON) == 0
    assert tausestack_client.get("/orders/1").json() == order
    # One CatalogService singleton serves both apps.
    orders = tausestack_app.container.get(example("orders.services").OrderService)
    assert orders.catalog is tausestack_app.container.get(
        example("catalog.services").CatalogService
    )


def test_a_failed_order_reserves_nothing(tausestack_client: TestClient) -> None:
    too_many = place_order(tausestack_client, (C_BOOK, 1), (ALGORITHMS, 4))
    unknown = place_order(tausestack_client, (C_BOOK, 1), ("978-9999999999", 1))

    assert too_many.status_code == 409
    assert too_many.json() == {"detail": f"Only 3 of {ALGORITHMS} in stock, 4 wanted."}
    assert unknown.status_code == 404
    assert unknown.json() == {"detail": "No book with ISBN 978-9999999999."}
    assert stock_of(tausestack_client, C_BOOK) == 5
    assert stock_of(tausestack_client, ALGORITHMS) == 3
    assert tausestack_client.get("/orders").json() == []


# -- interface bound to an implementation -------------------------------------------------------


def test_order_notifier_is_bound_to_the_log_implementation(
    tausestack_app: TauseStackApp,
    tausestack_client: TestClient,
    example_logs: pytest.LogCaptureFixture,
) -> None:
    services = example("orders.services")
    notifier = tausestack_app.container.get(services.OrderNotifier)
    assert type(notifier) is services.LogOrderNotifier

    response = place_order(tausestack_client, (ALGORITHMS, 2))

    assert response.status_code == 201, response.text
    assert response.json()["notification"] == "log:1"
    assert notifier.sent == 1
    assert messages(example_logs, "apps.orders.services") == [
        "Order 1 placed by ada: 2 book(s), 17900 cents"
    ]


# -- request-scoped provider --------------------------------------------------------------------


def test_request_context_is_one_instance_per_request(
    tausestack_client: TestClient, example_logs: pytest.LogCaptureFixture
) -> None:
    first = place_order(tausestack_client, (C_BOOK, 1))
    second = place_order(tausestack_client, (C_BOOK, 1))

    assert first.status_code == second.status_code == 201
    ids = []
    for response in (first, second):
        # The controller's FastAPI dependency (header) and the route method's Inject[...]
        # (body) resolve the RequestContext separately: they got the same instance.
        request_id = response.headers["X-Request-ID"]
        assert len(request_id) == 32
        assert response.json()["request_id"] == request_id
        ids.append(request_id)
    assert ids[0] != ids[1]
    # The provider ran exactly once per request; its cleanup ran after each response.
    assert messages(example_logs, "apps.orders.providers") == [
        f"Request {ids[0]} POST /orders completed",
        f"Request {ids[1]} POST /orders completed",
    ]


def test_request_context_uses_the_request_id_header_and_sees_failures(
    tausestack_client: TestClient, example_logs: pytest.LogCaptureFixture
) -> None:
    placed = place_order(tausestack_client, (FLUENT_PYTHON, 1), request_id="req-1")
    sold_out = place_order(tausestack_client, (FLUENT_PYTHON, 1), request_id="req-2")

    assert placed.status_code == 201
    assert placed.headers["X-Request-ID"] == "req-1"
    assert placed.json()["request_id"] == "req-1"
    assert sold_out.status_code == 409
    assert messages(example_logs, "apps.orders.providers") == [
        "Request req-1 POST /orders completed",
        "Request req-2 POST /orders failed (409)",
    ]


# -- plain APIRouter ----------------------------------------------------------------------------


def test_plain_router_reports_sales(
    tausestack_app: TauseStackApp, tausestack_client: TestClient
) -> None:
    assert example("orders.routes").router in tausestack_app.discovery.routers
    empty = tausestack_client.get("/reports/sales", headers={"X-Request-ID": "report-0"})
    assert empty.status_code == 200
    assert empty.json() == {
        "orders": 0,
        "books_sold": 0,
        "revenue_cents": 0,
        "low_stock": [FLUENT_PYTHON],  # stock 1, threshold 2 in application.yaml
        "request_id": "report-0",
    }

    assert place_order(tausestack_client, (ALGORITHMS, 1), (C_BOOK, 1)).status_code == 201
    assert place_order(tausestack_client, (ALGORITHMS, 1)).status_code == 201
    report = tausestack_client.get("/reports/sales").json()

    assert report["orders"] == 2
    assert report["books_sold"] == 3
    assert report["revenue_cents"] == 2 * 8950 + 4999
    assert report["low_stock"] == [ALGORITHMS, FLUENT_PYTHON]
    assert len(report["request_id"]) == 32


# -- overrides in tests -------------------------------------------------------------------------


def recording_notifier() -> Any:
    """A test double of the example's OrderNotifier interface that remembers the orders."""
    base: Any = example("orders.services").OrderNotifier

    class RecordingNotifier(base):  # type: ignore[misc]
        def __init__(self) -> None:
            self.orders: list[Any] = []

        def order_placed(self, order: Any) -> str:
            self.orders.append(order)
            return f"recording:{order.id}"

    return RecordingNotifier()


def test_create_test_app_overrides_the_notifier(
    bookshop: Path, example_logs: pytest.LogCaptureFixture
) -> None:
    services = example("orders.services")
    recorder = recording_notifier()
    app = create_test_app(overrides={services.OrderNotifier: recorder})

    with TestClient(app) as client:
        response = place_order(client, (C_BOOK, 3))

    assert response.status_code == 201, response.text
    assert response.json()["notification"] == "recording:1"
    assert [order.total_cents for order in recorder.orders] == [3 * 4999]
    assert messages(example_logs, "apps.orders.services") == []  # LogOrderNotifier unused


def test_container_override_lasts_for_the_block(
    tausestack_app: TauseStackApp,
    tausestack_client: TestClient,
    example_logs: pytest.LogCaptureFixture,
) -> None:
    recorder = recording_notifier()
    with tausestack_app.container.override(example("orders.services").OrderNotifier, recorder):
        inside = place_order(tausestack_client, (C_BOOK, 1))
    after = place_order(tausestack_client, (C_BOOK, 1))

    assert inside.json()["notification"] == "recording:1"
    assert [order.id for order in recorder.orders] == [1]
    assert after.json()["notification"] == "log:2"
    assert messages(example_logs, "apps.orders.services") == [
        "Order 2 placed by ada: 1 book(s), 4999 cents"
    ]
    # Orders placed under the override were stored in the same repository.
    assert [order["id"] for order in tausestack_client.get("/orders").json()] == [1, 2]


# -- OpenAPI ------------------------------------------------------------------------------------


def test_the_openapi_document_reads_like_the_code(tausestack_client: TestClient) -> None:
    """Summaries from the method names (as FastAPI makes them from a function's name),
    descriptions from the docstrings, operation ids from the controller and the method."""
    paths = tausestack_client.get("/openapi.json").json()["paths"]
    operations = {
        f"{method.upper()} {path}": (operation["summary"], operation["operationId"])
        for path, methods in paths.items()
        for method, operation in methods.items()
    }
    assert operations == {
        "GET /books": ("List Books", "book_list_books"),
        "POST /books": ("Add Book", "book_add_book"),
        "GET /books/{isbn}": ("Read Book", "book_read_book"),
        "GET /orders": ("List Orders", "order_list_orders"),
        "POST /orders": ("Place Order", "order_place_order"),
        "GET /orders/{order_id}": ("Read Order", "order_read_order"),
        # A function of a plain APIRouter: FastAPI's own summary and operation id.
        "GET /reports/sales": ("Sales Report", "sales_report_reports_sales_get"),
    }
    assert paths["/books/{isbn}"]["get"]["description"] == "Read one book by ISBN."


# -- a real server ------------------------------------------------------------------------------


@pytest.mark.e2e
def test_the_example_runs_under_uvicorn(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "uvicorn.log"
    env = {name: value for name, value in os.environ.items() if not name.startswith("TAUSESTACK_")}
    env["PYTHONUNBUFFERED"] = "1"
    command = [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=EXAMPLE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(process, f"{base}/books", log)

        books = httpx2.get(f"{base}/books", timeout=5)
        assert books.status_code == 200
        assert [book["isbn"] for book in books.json()] == SEEDED_ISBNS
        order = httpx2.post(
            f"{base}/orders",
            json={"customer": "ada", "lines": [{"isbn": ALGORITHMS, "quantity": 2}]},
            headers={"X-Request-ID": "e2e-1"},
            timeout=5,
        )
        assert order.status_code == 201, order.text
        assert order.headers["X-Request-ID"] == "e2e-1"
        assert order.json()["total_cents"] == 2 * 8950
        assert order.json()["notification"] == "log:1"
        report = httpx2.get(f"{base}/reports/sales", timeout=5).json()
        assert (report["orders"], report["books_sold"]) == (1, 2)
        assert httpx2.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"] == "Bookshop"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    output_text = log.read_text()
    # Recent uvicorn versions shut down gracefully, then re-raise the signal they got.
    assert process.returncode in (0, -signal.SIGTERM), output_text
    assert "Catalog seeded with 3 book(s)" in output_text
    assert "Order 1 placed by ada: 2 book(s), 17900 cents" in output_text
    assert "Catalog closed with 3 book(s)" in output_text  # the stop() hook ran at shutdown
    assert "Application shutdown complete." in output_text
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
