"""SQL for carts: the locked read every write starts with, lines, expiry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Cart, CartLine, Order, Product


@dataclass(frozen=True)
class CartRow:
    cart: Cart
    # The status of the order its last checkout made (None: never checked out).
    order_status: str | None


def _live(ttl: timedelta) -> Any:
    # An expired cart is gone for every reader and writer, even before the sweep runs.
    return Cart.updated_at > func.now() - ttl


async def insert_cart(
    session: AsyncSession, *, cart_id: str, user_id: int | None, currency: str
) -> Cart:
    cart = Cart(id=cart_id, user_id=user_id, currency=currency, version=1)
    session.add(cart)
    await session.flush()
    await session.refresh(cart)  # the server's timestamps
    return cart


async def get(
    session: AsyncSession, cart_id: str, *, ttl: timedelta, lock: bool = False
) -> CartRow | None:
    """The cart (unless expired) and its order's status; ``lock``: FOR UPDATE of the cart.

    Every write takes the lock first, so concurrent writers of one cart queue instead of
    losing each other's changes, and ``If-Match`` is compared with the version they hold.
    """
    if not lock:
        row = (
            await session.execute(
                select(Cart, Order.status)
                .outerjoin(Order, Order.id == Cart.order_id)
                .where(Cart.id == cart_id, _live(ttl))
                .execution_options(populate_existing=True)
            )
        ).one_or_none()
        return None if row is None else CartRow(row[0], row[1])
    # The cart alone: a writer that waited for the lock gets the cart's newest version,
    # but rows joined to it would still be those of its older snapshot (PostgreSQL
    # rechecks only the locked row), missing an order created meanwhile. So its order is
    # read by a statement of its own, after the lock, when there is one.
    cart = (
        await session.scalars(
            select(Cart)
            .where(Cart.id == cart_id, _live(ttl))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    if cart is None:
        return None
    status = None
    if cart.order_id is not None:
        status = await session.scalar(select(Order.status).where(Order.id == cart.order_id))
    return CartRow(cart, status)


async def bump(session: AsyncSession, cart_id: str, **changes: Any) -> Cart:
    """Apply ``changes`` and count a new version, in one UPDATE (the row is locked)."""
    result = await session.execute(
        update(Cart)
        .where(Cart.id == cart_id)
        .values(version=Cart.version + 1, updated_at=func.now(), **changes)
        .returning(Cart)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one()


async def lines_with_products(
    session: AsyncSession, cart_id: str, *, lock_products: bool = False
) -> list[tuple[CartLine, Product]]:
    """The cart's lines and their products, in line order.

    ``lock_products`` (checkout): the products are locked FOR UPDATE in product-id order,
    the order every checkout locks them in, so two checkouts never deadlock; the stock
    read under the lock is then the stock the reservation will see.
    """
    statement = (
        select(CartLine, Product)
        .join(Product, Product.id == CartLine.product_id)
        .where(CartLine.cart_id == cart_id)
    )
    if lock_products:
        statement = statement.order_by(Product.id).with_for_update(of=Product)
    else:
        statement = statement.order_by(CartLine.id)
    rows = await session.execute(statement.execution_options(populate_existing=True))
    pairs = [(line, product) for line, product in rows]
    if lock_products:
        pairs.sort(key=lambda pair: pair[0].id)
    return pairs


async def find_line(session: AsyncSession, cart_id: str, product_id: int) -> CartLine | None:
    result = await session.scalars(
        select(CartLine).where(CartLine.cart_id == cart_id, CartLine.product_id == product_id)
    )
    return result.one_or_none()


async def get_line(session: AsyncSession, cart_id: str, line_id: int) -> CartLine | None:
    result = await session.scalars(
        select(CartLine).where(CartLine.cart_id == cart_id, CartLine.id == line_id)
    )
    return result.one_or_none()


async def count_lines(session: AsyncSession, cart_id: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(CartLine).where(CartLine.cart_id == cart_id)
    )
    return int(count or 0)


async def add_line(session: AsyncSession, cart_id: str, product_id: int, quantity: int) -> None:
    session.add(CartLine(cart_id=cart_id, product_id=product_id, quantity=quantity))
    await session.flush()


async def set_quantity(session: AsyncSession, line_id: int, quantity: int) -> None:
    await session.execute(update(CartLine).where(CartLine.id == line_id).values(quantity=quantity))


async def delete_line(session: AsyncSession, line_id: int) -> None:
    await session.execute(delete(CartLine).where(CartLine.id == line_id))


async def delete_expired(session: AsyncSession, *, ttl: timedelta, limit: int) -> int:
    """Delete up to ``limit`` expired carts (their lines go with them).

    SKIP LOCKED: sweepers in other workers or instances take other rows instead of
    waiting, and a cart being written right now (locked) is left for the next sweep.
    """
    ids = (
        select(Cart.id)
        .where(Cart.updated_at <= func.now() - ttl)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(delete(Cart).where(Cart.id.in_(ids)).returning(Cart.id))
    return len(result.all())
