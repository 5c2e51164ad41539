"""Stock reservations: the products locked in product-id order, then one conditional
UPDATE for all the lines.

Locking in id order makes two orders over the same products lock their rows in the same
order, so they never deadlock; the condition makes overselling impossible whatever the
concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import cast

from sqlalchemy import BigInteger, Integer, Table, Update, bindparam, column, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Product


async def products_by_id(
    session: AsyncSession, ids: Iterable[int], *, lock: bool = False
) -> dict[int, Product]:
    """The products of ``ids`` that exist; ``lock``: FOR UPDATE, in product-id order (the
    order every checkout locks them in, so two checkouts never deadlock)."""
    statement = select(Product).where(Product.id.in_(list(ids)))
    if lock:
        statement = statement.order_by(Product.id).with_for_update()
    result = await session.execute(statement.execution_options(populate_existing=True))
    return {product.id: product for product in result.scalars()}


async def release(session: AsyncSession, lines: Iterable[tuple[int, int]]) -> None:
    """Give back ``(product_id, quantity)`` pairs, in product-id order."""
    for product_id, quantity in sorted(lines):
        await session.execute(
            update(Product)
            .where(Product.id == product_id)
            .values(stock=Product.stock + quantity, updated_at=func.now())
        )


async def reserve_locked(session: AsyncSession, lines: Sequence[tuple[int, int]]) -> bool:
    """Take ``(product_id, quantity)`` for every line in one statement, or report False.

    For rows the caller locked already (``FOR UPDATE``, in product-id order), so no lock
    is taken here in another order; the condition still guards against overselling.
    False when any line lacks stock: the caller must roll the transaction back. Product
    ids must be distinct (PostgreSQL updates a row once per statement; both callers
    merge lines by product). The caller's Product objects keep the stock they were read
    with.
    """
    if not lines:
        return True
    result = await session.execute(
        _reserve_statement(),
        {
            "product_ids": [product_id for product_id, _ in lines],
            "quantities": [quantity for _, quantity in lines],
        },
    )
    return len(result.all()) == len(lines)


@cache
def _reserve_statement() -> Update:
    """Built once: the lines come as two arrays, so one SQL text (one cached compilation,
    one prepared statement) serves any number of lines. A VALUES list of the lines
    themselves was compiled again for every checkout (it has no cache key). On the
    table, not the entity: no ORM bookkeeping of objects the UPDATE might change."""
    table = cast(Table, Product.__table__)
    wanted = (
        func.unnest(
            bindparam("product_ids", type_=ARRAY(BigInteger)),
            bindparam("quantities", type_=ARRAY(Integer)),
        )
        .table_valued(column("product_id", BigInteger), column("quantity", Integer))
        .render_derived("wanted")
    )
    return (
        update(table)
        .where(
            table.c.id == wanted.c.product_id,
            table.c.is_active.is_(True),
            table.c.stock >= wanted.c.quantity,
        )
        .values(stock=table.c.stock - wanted.c.quantity, updated_at=func.now())
        .returning(table.c.id)
    )
