"""A plain FastAPI ``APIRouter``: discovery includes it, and ``Inject[...]`` works in it."""

from __future__ import annotations

from fastapi import APIRouter

from tausestack import Inject

from .models import SalesReport
from .providers import RequestContext
from .services import OrderService

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/sales")
async def sales_report(
    orders: Inject[OrderService], context: Inject[RequestContext]
) -> SalesReport:
    """Totals over every order so far, and the books running low."""
    return orders.sales_report(context)
