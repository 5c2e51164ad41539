"""Cancelling a paid order: claim the refund, refund through the gateway, complete it.

A workflow: each database step is a short transaction of its own and none is open while
the gateway is called. If the gateway fails, the claim stays and the reconciler completes
the refund later with the same idempotency key.
"""

from __future__ import annotations

import logging

from ecommerce.core.database import Database
from ecommerce.core.errors import (
    Conflict,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentDeclined,
)
from ecommerce.models import Order, OrderStatus, User
from ecommerce.repositories import order as orders
from ecommerce.services import order_state
from ecommerce.services.order import get_visible
from ecommerce.services.payment import PaymentGateway

logger = logging.getLogger(__name__)


async def send_refund(gateway: PaymentGateway, order: Order) -> str | None:
    """Refund the whole charge; the key makes a repeated refund the same refund.

    None for a free order: there was no charge, so there is nothing to refund.
    """
    if order.charge_id is None:
        return None
    try:
        result = await gateway.refund(
            charge_id=order.charge_id,
            amount=order.total,
            idempotency_key=order_state.refund_key(order.payment_key),
        )
    except PaymentDeclined as error:  # a refund is never "declined"; treat as an answer error
        raise GatewayError(error.detail) from None
    return result.id


async def cancel(database: Database, gateway: PaymentGateway, user: User, order_id: int) -> Order:
    """Refund a paid order through the gateway, then mark it cancelled and return its stock.

    The refund is claimed first (payment status ``refund_pending``), which stops the order
    from being shipped meanwhile.
    """
    async with database.transaction() as session:
        order = await get_visible(session, user, order_id)
        if order.status != OrderStatus.PAID:
            raise Conflict(
                f"Order {order_id} is {order.status}; only a paid order can be cancelled"
            )
        if not await order_state.claim_refund(session, order_id):
            current = await orders.get(session, order_id)  # shipped or cancelled meanwhile
            status = current.status if current else "gone"
            raise Conflict(f"Order {order_id} is {status}; only a paid order can be cancelled")

    try:
        refund_id = await send_refund(gateway, order)
    except GatewayRejected as rejected:
        # A definite "no" (e.g. the gateway does not know the charge): nothing will change
        # on a retry, so the order goes back to plain paid and the caller is told.
        async with database.transaction() as session:
            await order_state.release_refund(session, order_id)
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

    async with database.transaction() as session:
        await order_state.complete_refund(session, order_id, refund_id)
        done = await orders.get(session, order_id)
    assert done is not None
    return done
