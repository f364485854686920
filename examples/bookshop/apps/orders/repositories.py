"""In-memory storage of the orders."""

from __future__ import annotations

import itertools

from tausestack import Repository

from .models import Order


@Repository
class OrderRepository:
    """Keeps placed orders by id and hands out new ids."""

    def __init__(self) -> None:
        self._orders: dict[int, Order] = {}
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        """A new, unused order id."""
        return next(self._ids)

    def save(self, order: Order) -> Order:
        """Insert or replace ``order``."""
        self._orders[order.id] = order
        return order

    def find(self, order_id: int) -> Order | None:
        """The order with this id, or None."""
        return self._orders.get(order_id)

    def all(self) -> list[Order]:
        """Every order, oldest first."""
        return list(self._orders.values())
