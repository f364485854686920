"""HTTP routes of the orders app, as a controller class."""

from __future__ import annotations

from fastapi import Depends, HTTPException, status

from apps.catalog.services import BookNotFoundError, OutOfStockError
from tausestack import Controller, Inject, get, post

from .models import Order, OrderRequest
from .providers import RequestContext, echo_request_id
from .services import OrderService


@Controller("/orders", tags=["orders"], dependencies=[Depends(echo_request_id)])
class OrderController:
    """Place and read orders; every response carries the ``X-Request-ID`` header.

    The controller is a singleton, so the request-scoped ``RequestContext`` is taken as an
    ``Inject[...]`` parameter of the route method rather than in the constructor.
    """

    def __init__(self, orders: OrderService) -> None:
        self.orders = orders

    @post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses={
            404: {"description": "A book of the order does not exist"},
            409: {"description": "Not enough copies in stock"},
        },
    )
    async def place_order(self, payload: OrderRequest, context: Inject[RequestContext]) -> Order:
        """Place an order; the books are taken out of the catalog's stock."""
        try:
            return self.orders.place(payload, context)
        except BookNotFoundError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
        except OutOfStockError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc

    @get("")
    async def list_orders(self) -> list[Order]:
        """Every order placed so far, oldest first."""
        return self.orders.all()

    @get("/{order_id}", responses={404: {"description": "No such order"}})
    async def read_order(self, order_id: int) -> Order:
        """Read one order."""
        order = self.orders.get(order_id)
        if order is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"No order {order_id}.")
        return order
