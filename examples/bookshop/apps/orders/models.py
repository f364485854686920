"""The orders' data: what a customer sends, what the shop stores, and the sales report."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OrderLineRequest(BaseModel):
    """One line of an order as the customer sends it."""

    isbn: str = Field(min_length=10, max_length=17)
    quantity: int = Field(default=1, ge=1, le=100)


class OrderRequest(BaseModel):
    """An order as the customer sends it (``POST /orders``)."""

    customer: str = Field(min_length=1, max_length=100)
    lines: list[OrderLineRequest] = Field(min_length=1)


class OrderLine(BaseModel):
    """One line of a placed order, priced when the order was placed."""

    model_config = ConfigDict(frozen=True)

    isbn: str
    title: str
    quantity: int
    unit_price_cents: int

    @property
    def total_cents(self) -> int:
        """The price of the line."""
        return self.quantity * self.unit_price_cents


class Order(BaseModel):
    """A placed order."""

    model_config = ConfigDict(frozen=True)

    id: int
    customer: str
    lines: list[OrderLine]
    total_cents: int
    request_id: str = Field(description="The id of the HTTP request that placed the order.")
    notification: str | None = Field(
        default=None, description="The receipt of the notification sent for this order."
    )


class SalesReport(BaseModel):
    """Totals over every order placed so far (``GET /reports/sales``)."""

    orders: int
    books_sold: int
    revenue_cents: int
    low_stock: list[str] = Field(description="ISBNs at or below the low-stock threshold.")
    request_id: str
