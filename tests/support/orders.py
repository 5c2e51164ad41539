"""Products and orders written straight to the database for report and export tests.

Orders go in through the same bulk repository the history generator uses (id reserved
from the sequence, binary COPY), so a test can place an order at any time and status.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.devtools.bulk_copy import (
    ORDER_COLUMNS,
    ORDER_LINE_COLUMNS,
    copy_records,
    reserve_ids,
)
from ecommerce.models import OrderStatus, Product


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    sku: str
    name: str
    price: int


async def create_product(
    engine: AsyncEngine, sku: str, name: str, price: int, *, stock: int = 100
) -> CatalogProduct:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        product = Product(sku=sku, name=name, price=price, currency="USD", stock=stock)
        session.add(product)
        await session.commit()
    return CatalogProduct(product.id, sku, name, price)


async def add_order(
    engine: AsyncEngine,
    *,
    user_id: int,
    status: OrderStatus,
    created_at: datetime,
    lines: Sequence[tuple[CatalogProduct, int]],
) -> int:
    """Insert one order with its lines (at the products' prices); return its id."""
    async with engine.connect() as conn:
        [order_id] = await reserve_ids(conn, "order", 1)
        total = sum(product.price * quantity for product, quantity in lines)
        paid = status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED)
        payment = (f"ch_test_{order_id}", "succeeded") if paid else (None, None)
        order = (
            order_id,
            user_id,
            str(status),
            total,
            "USD",
            *payment,
            None,
            created_at,
            created_at,
        )
        await copy_records(conn, "order", ORDER_COLUMNS, [order])
        await copy_records(
            conn,
            "order_line",
            ORDER_LINE_COLUMNS,
            [
                (order_id, p.id, p.sku, p.name, p.price, quantity, p.price * quantity)
                for p, quantity in lines
            ],
        )
        await conn.commit()
    return int(order_id)
