"""Admin reports: the sales report over a range of UTC days."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import InvalidInput
from ecommerce.repositories.report import sales_between
from ecommerce.schemas.report import SalesReport, TopProduct

DEFAULT_TOP_PRODUCTS = 10
MAX_TOP_PRODUCTS = 100


def utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


async def sales_report(
    session: AsyncSession,
    start: date,
    end: date,
    *,
    currency: str,
    top: int = DEFAULT_TOP_PRODUCTS,
) -> SalesReport:
    """Sales of paid and shipped orders created from ``start`` to ``end`` (excluded).

    Days are UTC days: ``start=2025-03-01&end=2025-03-02`` covers
    2025-03-01T00:00Z included to 2025-03-02T00:00Z excluded. Any range is a normal
    request (a lifetime report too): ECOMMERCE_DB_STATEMENT_TIMEOUT protects the
    database. Raises ``InvalidInput`` when ``end`` is not after ``start``.
    """
    if end <= start:
        raise InvalidInput("end must be after start (end is exclusive)")
    figures = await sales_between(session, utc_midnight(start), utc_midnight(end), top)
    return SalesReport(
        start=start,
        end=end,
        orders=figures.orders,
        units=figures.units,
        revenue=figures.revenue,
        currency=currency,
        subtotal=figures.subtotal,
        discount_total=figures.discount_total,
        shipping_total=figures.shipping_total,
        tax_total=figures.tax_total,
        top_products=[
            TopProduct(product_id=p.product_id, sku=p.sku, units=p.units, revenue=p.revenue)
            for p in figures.top_products
        ],
    )
