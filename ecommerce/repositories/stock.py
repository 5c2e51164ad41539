"""Stock reservations: one conditional UPDATE per line, in product-id order.

Sorting makes two orders over the same products lock their rows in the same order, so
they never deadlock; the condition makes overselling impossible whatever the concurrency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, Integer, column, func, select, update, values
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Product


async def products_by_id(session: AsyncSession, ids: Iterable[int]) -> dict[int, Product]:
    result = await session.execute(select(Product).where(Product.id.in_(list(ids))))
    return {product.id: product for product in result.scalars()}


@dataclass(frozen=True)
class Reserved:
    product_id: int
    sku: str
    name: str
    price: int
    currency: str


async def reserve(session: AsyncSession, product_id: int, quantity: int) -> Reserved | None:
    """Take ``quantity`` of an active product; None when there is not enough."""
    row = (
        await session.execute(
            update(Product)
            .where(
                Product.id == product_id,
                Product.is_active.is_(True),
                Product.stock >= quantity,
            )
            .values(stock=Product.stock - quantity, updated_at=func.now())
            .returning(Product.id, Product.sku, Product.name, Product.price, Product.currency)
        )
    ).one_or_none()
    return None if row is None else Reserved(*row)


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
