"""Order queries and shipping: steps on the request's session."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import Conflict, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import Order, OrderStatus, User
from ecommerce.repositories import order as orders
from ecommerce.services import order_state


async def get_visible(session: AsyncSession, user: User, order_id: int) -> Order:
    """The order if the user may see it: their own, or any for an admin; else 404."""
    order = await orders.get(session, order_id)
    if order is None or (not user.is_admin and order.user_id != user.id):
        raise NotFound(f"Order {order_id} not found")
    return order


async def list_visible(
    session: AsyncSession, user: User, page: PageRequest
) -> tuple[list[Order], str | None]:
    """A page of the user's orders (everyone's for an admin), ascending id."""
    return await orders.page(session, user_id=None if user.is_admin else user.id, page=page)


async def ship(session: AsyncSession, order_id: int) -> Order:
    """``paid`` → ``shipped``; refused (409) from any other status or during a refund."""
    moved = await order_state.ship(session, order_id)
    order = await orders.get(session, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    if not moved:
        if order.status == OrderStatus.PAID:
            raise Conflict(f"Order {order_id} is being cancelled; it cannot be shipped")
        raise Conflict(f"Order {order_id} is {order.status}; only a paid order can be shipped")
    return order
