"""Money on an order that was not paid goes back: the orphan-charge refund.

An order becomes ``payment_failed`` with payment status ``refund_due`` when a charge is
found that is not its payment: the gateway recorded the charge after the order was
settled as failed (a late charge), or a 2xx charge answer did not match the order
(status, amount or currency). ``refund`` sends the refund with the order's refund key (a
retry is the same refund); the reconciler calls it again until the gateway confirms it,
unless the gateway refuses it for good (``refund_refused``: a person must look; alerted).
"""

from __future__ import annotations

import logging

from ecommerce.core import metrics
from ecommerce.core.database import Database
from ecommerce.core.errors import DomainError, GatewayRejected
from ecommerce.models import Order
from ecommerce.services import order_state
from ecommerce.services.payment import Charge, PaymentGateway

logger = logging.getLogger(__name__)


def report(order: Order, reason: str, charge: Charge) -> None:
    """Count and log an orphan charge: money was taken for an order that is not paid."""
    metrics.record_orphan_charge(reason)
    logger.error(
        "order %s: orphan charge %s (%s %s, reason %s) on an unpaid order; refunding it",
        order.id,
        charge.id,
        charge.amount,
        charge.currency,
        reason,
    )


async def refund(
    database: Database, gateway: PaymentGateway, order: Order, charge: Charge | None = None
) -> bool:
    """Refund what the gateway holds for this ``refund_due`` order; whether it is done.

    ``charge``: the charge when the caller holds it (else it is looked up by the order's
    charge key). Failures leave the order ``refund_due`` for the reconciler's next try.
    """
    try:
        if charge is None:
            charge = await gateway.find_charge(order_state.charge_key(order.payment_key))
        refund_id: str | None = None
        if charge is not None:
            result = await gateway.refund(
                charge_id=charge.id,
                amount=charge.amount,
                idempotency_key=order_state.refund_key(order.payment_key),
            )
            refund_id = result.id
    except GatewayRejected as refused:
        logger.error(
            "order %s: the gateway refused the refund of its orphan charge for good (%s)",
            order.id,
            refused.detail,
        )
        async with database.transaction() as session:
            await order_state.orphan_refund_refused(session, order.id)
        return False
    except DomainError as error:
        logger.warning("order %s: orphan refund not confirmed (%s); retried", order.id, error)
        return False
    async with database.transaction() as session:
        done = await order_state.orphan_refunded(session, order.id, refund_id)
    if done:
        logger.info("order %s: orphan charge refunded (%s)", order.id, refund_id)
    return done
