"""Stock reservations: the products locked in product-id order, then one conditional
UPDATE for every line.

Locking in id order makes two orders over the same products lock their rows in the same
order, so they never deadlock; the condition makes overselling impossible whatever the
concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import BigInteger, Integer, column, func, select, update, values
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
    False when any line lacks stock: the caller must roll the transaction back.
    """
    if not lines:
        return True
    wanted = values(
        column("product_id", BigInteger), column("quantity", Integer), name="wanted"
    ).data(list(lines))
    result = await session.execute(
        update(Product)
        .where(
            Product.id == wanted.c.product_id,
            Product.is_active.is_(True),
            Product.stock >= wanted.c.quantity,
        )
        .values(stock=Product.stock - wanted.c.quantity, updated_at=func.now())
        .returning(Product.id)
    )
    return len(result.all()) == len(lines)
