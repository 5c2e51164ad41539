"""The sales report in one SQL statement: totals and top products from the same snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Order, OrderLine, OrderStatus, Product

# Orders whose money was taken and kept: refunded (cancelled) and declined ones are not sales.
SOLD_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED)


@dataclass(frozen=True)
class ProductSales:
    product_id: int
    sku: str
    units: int
    revenue: int


@dataclass(frozen=True)
class SalesFigures:
    orders: int
    units: int
    revenue: int
    top_products: list[ProductSales]
    subtotal: int = 0
    discount_total: int = 0
    shipping_total: int = 0
    tax_total: int = 0


# Order amounts summed over the range besides ``total`` (the revenue).
_AMOUNTS = ("subtotal", "discount_total", "shipping_total", "tax_total")


async def sales_between(
    session: AsyncSession, start: datetime, end: datetime, top: int
) -> SalesFigures:
    """Sales of orders created in [start, end), with the ``top`` products by revenue.

    One statement, so the totals and the product list always agree, even while orders
    are being written. The (status, created_at) index serves the range.
    """
    sold = (
        select(
            Order.id,
            Order.total,
            Order.subtotal,
            Order.discount_total,
            Order.shipping_total,
            Order.tax_total,
        )
        .where(
            Order.status.in_([str(s) for s in SOLD_STATUSES]),
            Order.created_at >= start,
            Order.created_at < end,
        )
        .cte("sold")
    )
    per_product = (
        select(
            OrderLine.product_id,
            func.sum(OrderLine.quantity).cast(BigInteger).label("units"),
            func.sum(OrderLine.line_total).cast(BigInteger).label("revenue"),
        )
        .join(sold, sold.c.id == OrderLine.order_id)
        .group_by(OrderLine.product_id)
        .cte("per_product")
    )
    totals = select(
        select(func.count()).select_from(sold).scalar_subquery().label("orders"),
        select(func.coalesce(func.sum(per_product.c.units), 0).cast(BigInteger))
        .scalar_subquery()
        .label("units"),
        select(func.coalesce(func.sum(sold.c.total), 0).cast(BigInteger))
        .scalar_subquery()
        .label("revenue"),
        *(
            select(func.coalesce(func.sum(sold.c[name]), 0).cast(BigInteger))
            .scalar_subquery()
            .label(name)
            for name in _AMOUNTS
        ),
    ).subquery("totals")
    ranking = (
        per_product.c.revenue.desc(),
        per_product.c.units.desc(),
        per_product.c.product_id,
    )
    top_rows = (
        select(
            per_product.c.product_id,
            Product.sku,
            per_product.c.units.label("product_units"),
            per_product.c.revenue.label("product_revenue"),
        )
        .join(Product, Product.id == per_product.c.product_id)
        .order_by(*ranking)
        .limit(top)
        .subquery("top")
    )
    # A LEFT JOIN keeps the one totals row when nothing sold.
    statement = (
        select(totals, top_rows)
        .select_from(totals.outerjoin(top_rows, true()))
        .order_by(
            top_rows.c.product_revenue.desc(),
            top_rows.c.product_units.desc(),
            top_rows.c.product_id,
        )
    )
    rows = (await session.execute(statement)).all()
    first = rows[0]
    return SalesFigures(
        orders=first.orders,
        units=first.units,
        revenue=first.revenue,
        top_products=[
            ProductSales(row.product_id, row.sku, row.product_units, row.product_revenue)
            for row in rows
            if row.product_id is not None
        ],
        **{name: getattr(first, name) for name in _AMOUNTS},
    )
