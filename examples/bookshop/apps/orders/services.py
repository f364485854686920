"""Placing orders: uses the catalog app's service and an ``OrderNotifier`` implementation."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter

from apps.catalog.services import CatalogService
from tausestack import Service

from .models import Order, OrderLine, OrderRequest, SalesReport
from .providers import RequestContext
from .repositories import OrderRepository

logger = logging.getLogger(__name__)


class OrderNotifier(ABC):
    """Tells someone that an order was placed (the interface the orders app depends on)."""

    @abstractmethod
    def order_placed(self, order: Order) -> str:
        """Send the notification for ``order`` and return a receipt identifying it."""


@Service(provides=OrderNotifier)
class LogOrderNotifier(OrderNotifier):
    """The ``OrderNotifier`` of this project: writes each order to the log."""

    def __init__(self) -> None:
        self.sent = 0

    def order_placed(self, order: Order) -> str:
        """Log the order; the receipt is ``log:<order id>``."""
        self.sent += 1
        logger.info(
            "Order %d placed by %s: %d book(s), %d cents",
            order.id,
            order.customer,
            sum(line.quantity for line in order.lines),
            order.total_cents,
        )
        return f"log:{order.id}"


@Service
class OrderService:
    """Places and reads orders; depends on the catalog app's ``CatalogService``."""

    def __init__(
        self, catalog: CatalogService, orders: OrderRepository, notifier: OrderNotifier
    ) -> None:
        self.catalog = catalog
        self.orders = orders
        self.notifier = notifier

    def place(self, request: OrderRequest, context: RequestContext) -> Order:
        """Reserve the books, store the order and notify about it.

        Raises the catalog's BookNotFoundError or OutOfStockError (nothing is reserved then).
        """
        quantities: Counter[str] = Counter()
        for line in request.lines:
            quantities[line.isbn] += line.quantity
        books = self.catalog.reserve(quantities)
        lines = [
            OrderLine(
                isbn=book.isbn,
                title=book.title,
                quantity=quantities[book.isbn],
                unit_price_cents=book.price_cents,
            )
            for book in books
        ]
        order = Order(
            id=self.orders.next_id(),
            customer=request.customer,
            lines=lines,
            total_cents=sum(line.total_cents for line in lines),
            request_id=context.request_id,
        )
        receipt = self.notifier.order_placed(order)
        return self.orders.save(order.model_copy(update={"notification": receipt}))

    def get(self, order_id: int) -> Order | None:
        """The order with this id, or None."""
        return self.orders.find(order_id)

    def all(self) -> list[Order]:
        """Every order, oldest first."""
        return self.orders.all()

    def sales_report(self, context: RequestContext) -> SalesReport:
        """Totals over every order, with the books that are running low."""
        orders = self.orders.all()
        return SalesReport(
            orders=len(orders),
            books_sold=sum(line.quantity for order in orders for line in order.lines),
            revenue_cents=sum(order.total_cents for order in orders),
            low_stock=[book.isbn for book in self.catalog.low_stock()],
            request_id=context.request_id,
        )
