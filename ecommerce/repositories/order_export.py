"""The export's single streaming query: every order joined to its lines, in id order."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ecommerce.models import Order, OrderLine

# Positions in each row, for the serializers (tuple indexing is the cheap path).
(
    ORDER_ID,
    USER_ID,
    STATUS,
    TOTAL,
    CURRENCY,
    CREATED_AT,
    UPDATED_AT,
    CHARGE_ID,
    PAYMENT_STATUS,
    PRODUCT_ID,
    SKU,
    NAME,
    UNIT_PRICE,
    QUANTITY,
    LINE_TOTAL,
    # Added with carts, shipping, tax and discounts (positions after the original ones).
    DISCOUNT_AMOUNT,
    TAX_AMOUNT,
    SUBTOTAL,
    DISCOUNT_TOTAL,
    SHIPPING_TOTAL,
    TAX_TOTAL,
    EMAIL,
    SHIPPING_METHOD,
    SHIPPING_PRICE,
    DISCOUNT_CODE,
    SHIPPING_ADDRESS,
    BILLING_ADDRESS,
) = range(27)

OrderRow = Sequence[Any]
"""One row of ``ORDER_ROWS``: an order's fields and one of its lines, by position."""

ORDER_ROWS = (
    select(
        Order.id,
        Order.user_id,
        Order.status,
        Order.total,
        Order.currency,
        Order.created_at,
        Order.updated_at,
        Order.charge_id,
        Order.payment_status,
        OrderLine.product_id,
        OrderLine.sku,
        OrderLine.name,
        OrderLine.unit_price,
        OrderLine.quantity,
        OrderLine.line_total,
        OrderLine.discount_amount,
        OrderLine.tax_amount,
        Order.subtotal,
        Order.discount_total,
        Order.shipping_total,
        Order.tax_total,
        Order.email,
        Order.shipping_method,
        Order.shipping_price,
        Order.discount_code,
        Order.shipping_address,
        Order.billing_address,
    )
    # LEFT: an order without lines (none should exist) is still exported.
    .outerjoin(OrderLine, OrderLine.order_id == Order.id)
    # Consecutive rows belong to one order, its lines in their id order.
    .order_by(Order.id, OrderLine.id)
)


async def begin_snapshot(conn: AsyncConnection) -> None:
    """Start a read-only REPEATABLE READ transaction: one consistent view for a long read.

    Orders written while an export runs are not in it, and an order's lines never appear
    half-written. Nothing to commit: closing the connection rolls it back, which is also
    the one safe ending when the read was cancelled half-way.
    """
    await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    await conn.begin()


async def stream_order_rows(
    conn: AsyncConnection, rows_per_chunk: int
) -> AsyncGenerator[Sequence[OrderRow], None]:
    """Order rows in chunks, through a server-side cursor: memory is one chunk at a time."""
    result = await conn.stream(ORDER_ROWS.execution_options(yield_per=rows_per_chunk))
    try:
        async for chunk in result.partitions():
            yield chunk
    finally:
        await result.close()
