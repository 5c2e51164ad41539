"""Order queries and the after-sale moves: cancel (with refund) and ship."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.database import Database
from ecommerce.core.errors import (
    Conflict,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    NotFound,
    PaymentDeclined,
)
from ecommerce.models import Order, OrderStatus, User
from ecommerce.models.order import PaymentStatus
from ecommerce.repositories import order as orders
from ecommerce.repositories import stock
from ecommerce.repositories.pagination import PageRequest
from ecommerce.services.checkout import refund_key
from ecommerce.services.payment import PaymentGateway

logger = logging.getLogger(__name__)


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
    """``paid`` -> ``shipped``; refused (409) from any other status or during a refund."""
    moved = await orders.move(
        session,
        order_id,
        from_status=OrderStatus.PAID,
        to_status=OrderStatus.SHIPPED,
        require_payment_status={PaymentStatus.SUCCEEDED},
    )
    order = await orders.get(session, order_id)
    if order is None:
        raise NotFound(f"Order {order_id} not found")
    if not moved:
        if order.status == OrderStatus.PAID:
            raise Conflict(f"Order {order_id} is being cancelled; it cannot be shipped")
        raise Conflict(f"Order {order_id} is {order.status}; only a paid order can be shipped")
    return order


async def complete_refund(session: AsyncSession, order_id: int, refund_id: str | None) -> bool:
    """``paid`` (refund claimed) -> ``cancelled`` and the stock back, exactly once."""
    moved = await orders.move(
        session,
        order_id,
        from_status=OrderStatus.PAID,
        to_status=OrderStatus.CANCELLED,
        require_payment_status={PaymentStatus.REFUND_PENDING},
        payment_status=PaymentStatus.REFUNDED,
        refund_id=refund_id,
    )
    if moved:
        await stock.release(session, await orders.line_quantities(session, order_id))
    return moved


async def refund(gateway: PaymentGateway, order: Order) -> str | None:
    """Refund the whole charge; the key makes a repeated refund the same refund.

    None for a free order: there was no charge, so there is nothing to refund.
    """
    if order.charge_id is None:
        return None
    try:
        result = await gateway.refund(
            charge_id=order.charge_id, amount=order.total, idempotency_key=refund_key(order)
        )
    except PaymentDeclined as error:  # a refund is never "declined"; treat as an answer error
        raise GatewayError(error.detail) from None
    return result.id


async def release_refund_claim(database: Database, order_id: int) -> None:
    """Undo a refund claim the gateway refused for good: the order is plainly paid again."""
    async with database.session() as session:
        await orders.set_payment_status(
            session,
            order_id,
            status=OrderStatus.PAID,
            expect={PaymentStatus.REFUND_PENDING},
            new=PaymentStatus.SUCCEEDED,
        )
        await session.commit()


async def cancel(database: Database, gateway: PaymentGateway, user: User, order_id: int) -> Order:
    """Refund a paid order through the gateway, then mark it cancelled and return its stock.

    The refund is claimed first (payment status ``refund_pending``), which stops the order
    from being shipped meanwhile. If the gateway fails, the claim stays and the reconciler
    completes the refund later with the same idempotency key.
    """
    async with database.session() as session:
        order = await get_visible(session, user, order_id)
        if order.status != OrderStatus.PAID:
            raise Conflict(
                f"Order {order_id} is {order.status}; only a paid order can be cancelled"
            )
        claimed = await orders.set_payment_status(
            session,
            order_id,
            status=OrderStatus.PAID,
            expect={PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING},
            new=PaymentStatus.REFUND_PENDING,
        )
        if not claimed:  # shipped or cancelled in the meantime
            current = await orders.get(session, order_id)
            status = current.status if current else "gone"
            raise Conflict(f"Order {order_id} is {status}; only a paid order can be cancelled")
        await session.commit()

    try:
        refund_id = await refund(gateway, order)
    except GatewayRejected as rejected:
        # A definite "no" (e.g. the gateway does not know the charge): nothing will change
        # on a retry, so the order goes back to plain paid and the caller is told.
        await release_refund_claim(database, order_id)
        raise GatewayError(
            f"{rejected.detail}; the refund was refused and order {order_id} stays paid",
            order_id=order_id,
        ) from None
    except (GatewayError, GatewayUnavailable, GatewayTimeout) as error:
        logger.warning("refund of order %s not confirmed: %s", order_id, type(error).__name__)
        raise type(error)(
            f"{error.detail}; the refund of order {order_id} will be completed automatically",
            order_id=order_id,
        ) from None

    async with database.session() as session:
        await complete_refund(session, order_id, refund_id)
        await session.commit()
        done = await orders.get(session, order_id)
    assert done is not None
    return done
