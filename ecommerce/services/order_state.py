"""The order and payment state machine: one table, one compare-and-set, the gateway keys.

Every move of an order is an ``OrderEvent`` looked up in ``TRANSITIONS`` (from status and
payment status → to status and payment status) and applied by ``_move`` as one
conditional ``UPDATE ... WHERE status = :from AND payment_status IN (:from) RETURNING``:
whoever gets there first (a checkout, the reconciler, a cancel, a ship) moves the order,
the others get ``False`` and nothing happens twice.

The contract's status machine is ``pending → paid → shipped``, ``pending →
payment_failed`` and ``paid → cancelled``. Inside those, the payment status says what
is known of the money (``unknown`` while a charge's outcome is unknown, ``refund_pending``
while a refund is claimed).

The functions here are steps: they take a session and flush; the workflows (checkout,
cancellation, reconciler) own the transactions and the network.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import EventType, Order, OrderStatus
from ecommerce.models.order import PaymentStatus
from ecommerce.repositories import discount as discounts
from ecommerce.repositories import order as orders
from ecommerce.repositories import stock
from ecommerce.services import events


class OrderEvent(enum.StrEnum):
    """What can happen to an order."""

    CHARGE_SUCCEEDED = "charge_succeeded"  # the gateway holds the charge (or nothing to pay)
    CHARGE_DECLINED = "charge_declined"  # the gateway refused the card: nothing charged
    CHARGE_NOT_FOUND = "charge_not_found"  # the reconciler found no charge for the order
    OUTCOME_UNKNOWN = "outcome_unknown"  # the charge call failed: only the gateway knows
    REFUND_CLAIMED = "refund_claimed"  # a cancel started: no shipping meanwhile
    REFUND_RELEASED = "refund_released"  # the gateway refused the refund for good
    REFUND_COMPLETED = "refund_completed"  # the money went back
    SHIPPED = "shipped"
    CHARGE_STARTED = "charge_started"  # the charge call is about to be sent
    CHARGE_INVALID = "charge_invalid"  # a 2xx charge whose status/amount/currency is wrong
    LATE_CHARGE_FOUND = "late_charge_found"  # a failed order's charge turned up after all
    ORPHAN_REFUNDED = "orphan_refunded"  # the money of a failed order went back
    ORPHAN_REFUND_REFUSED = "orphan_refund_refused"  # the gateway refused that for good


# Where an order may be for a move to apply: its status and the payment statuses allowed
# (None inside the set stands for "no outcome recorded yet", SQL NULL).
PaymentStates = frozenset[str | None]
ANY_PENDING: PaymentStates = frozenset({None, PaymentStatus.UNKNOWN, PaymentStatus.CHARGING})


@dataclass(frozen=True)
class Transition:
    from_status: OrderStatus
    from_payment: PaymentStates
    to_status: OrderStatus
    to_payment: PaymentStatus

    @property
    def changes_status(self) -> bool:
        return self.from_status != self.to_status


TRANSITIONS: Mapping[OrderEvent, Transition] = MappingProxyType(
    {
        OrderEvent.CHARGE_SUCCEEDED: Transition(
            OrderStatus.PENDING, ANY_PENDING, OrderStatus.PAID, PaymentStatus.SUCCEEDED
        ),
        OrderEvent.CHARGE_DECLINED: Transition(
            OrderStatus.PENDING, ANY_PENDING, OrderStatus.PAYMENT_FAILED, PaymentStatus.DECLINED
        ),
        OrderEvent.CHARGE_NOT_FOUND: Transition(
            OrderStatus.PENDING, ANY_PENDING, OrderStatus.PAYMENT_FAILED, PaymentStatus.NOT_CHARGED
        ),
        OrderEvent.OUTCOME_UNKNOWN: Transition(
            OrderStatus.PENDING, ANY_PENDING, OrderStatus.PENDING, PaymentStatus.UNKNOWN
        ),
        OrderEvent.REFUND_CLAIMED: Transition(
            OrderStatus.PAID,
            frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUND_PENDING}),
            OrderStatus.PAID,
            PaymentStatus.REFUND_PENDING,
        ),
        OrderEvent.REFUND_RELEASED: Transition(
            OrderStatus.PAID,
            frozenset({PaymentStatus.REFUND_PENDING}),
            OrderStatus.PAID,
            PaymentStatus.SUCCEEDED,
        ),
        OrderEvent.REFUND_COMPLETED: Transition(
            OrderStatus.PAID,
            frozenset({PaymentStatus.REFUND_PENDING}),
            OrderStatus.CANCELLED,
            PaymentStatus.REFUNDED,
        ),
        OrderEvent.SHIPPED: Transition(
            OrderStatus.PAID,
            frozenset({PaymentStatus.SUCCEEDED}),
            OrderStatus.SHIPPED,
            PaymentStatus.SUCCEEDED,
        ),
        # Only an order nobody settled yet is charged (not one the reconciler failed).
        OrderEvent.CHARGE_STARTED: Transition(
            OrderStatus.PENDING, frozenset({None}), OrderStatus.PENDING, PaymentStatus.CHARGING
        ),
        OrderEvent.CHARGE_INVALID: Transition(
            OrderStatus.PENDING, ANY_PENDING, OrderStatus.PAYMENT_FAILED, PaymentStatus.REFUND_DUE
        ),
        OrderEvent.LATE_CHARGE_FOUND: Transition(
            OrderStatus.PAYMENT_FAILED,
            frozenset({PaymentStatus.NOT_CHARGED}),
            OrderStatus.PAYMENT_FAILED,
            PaymentStatus.REFUND_DUE,
        ),
        OrderEvent.ORPHAN_REFUNDED: Transition(
            OrderStatus.PAYMENT_FAILED,
            frozenset({PaymentStatus.REFUND_DUE}),
            OrderStatus.PAYMENT_FAILED,
            PaymentStatus.REFUNDED,
        ),
        OrderEvent.ORPHAN_REFUND_REFUSED: Transition(
            OrderStatus.PAYMENT_FAILED,
            frozenset({PaymentStatus.REFUND_DUE}),
            OrderStatus.PAYMENT_FAILED,
            PaymentStatus.REFUND_REFUSED,
        ),
    }
)


def next_state(
    event: OrderEvent, status: OrderStatus, payment_status: str | None
) -> tuple[OrderStatus, PaymentStatus] | None:
    """Where ``event`` takes an order in this state; None when the move is refused.

    The table read in Python, for callers and the unit tests; ``_move`` applies the same
    table in SQL (tests/integration/test_order_state_moves.py checks that they agree).
    """
    transition = TRANSITIONS[event]
    if status != transition.from_status or payment_status not in transition.from_payment:
        return None
    return transition.to_status, transition.to_payment


def charge_key(payment_key: uuid.UUID) -> str:
    """The gateway's idempotency key for an order's charge: retries never charge twice.

    It derives from the order's ``payment_key`` (a UUID), never from its id, which
    restarts when a database is rebuilt."""
    return f"order-{payment_key}-charge"


def refund_key(payment_key: uuid.UUID) -> str:
    """The gateway's idempotency key for an order's refund: a retry is the same refund."""
    return f"order-{payment_key}-refund"


# The event each status change publishes (webhooks, e-mails), in the move's transaction.
PUBLISHED: Mapping[OrderEvent, EventType] = MappingProxyType(
    {
        OrderEvent.CHARGE_SUCCEEDED: EventType.ORDER_PAID,
        OrderEvent.CHARGE_DECLINED: EventType.ORDER_PAYMENT_FAILED,
        OrderEvent.CHARGE_NOT_FOUND: EventType.ORDER_PAYMENT_FAILED,
        OrderEvent.CHARGE_INVALID: EventType.ORDER_PAYMENT_FAILED,
        OrderEvent.REFUND_COMPLETED: EventType.ORDER_CANCELLED,
        OrderEvent.SHIPPED: EventType.ORDER_SHIPPED,
    }
)


async def _move(
    session: AsyncSession, order_id: int, event: OrderEvent, **values: Any
) -> Order | None:
    """Apply ``event`` to the order if it is still where the table says; the order as
    after the move, or None when it did not move.

    Every move of every order goes through here, so this is where a status change
    records its event (and the webhook deliveries and e-mails it causes) in the same
    transaction: committed with the move, or not at all.
    """
    transition = TRANSITIONS[event]
    published = PUBLISHED.get(event)
    moved = await orders.transition(
        session,
        order_id,
        from_status=transition.from_status,
        from_payment=transition.from_payment,
        to_status=transition.to_status,
        to_payment=transition.to_payment,
        with_items=published is not None,
        **values,
    )
    if moved is not None and published is not None:
        await events.record_order_event(session, moved, published)
    return moved


async def _moved(session: AsyncSession, order_id: int, event: OrderEvent, **values: Any) -> bool:
    """Whether ``event`` moved the order (``_move`` for steps that answer yes or no)."""
    return await _move(session, order_id, event, **values) is not None


async def _release_holds(session: AsyncSession, order_id: int) -> None:
    """What an order held comes back when it fails or is cancelled: its stock and the use
    of its discount code (deleting the use row is the claim, so it comes back once)."""
    await stock.release(session, await orders.line_quantities(session, order_id))
    await discounts.give_back(session, order_id)


async def settle_paid(session: AsyncSession, order_id: int, charge_id: str | None) -> Order | None:
    """``pending`` → ``paid`` with its charge (None: a free order, nothing to charge); the
    paid order with its lines, or None when it was settled otherwise meanwhile."""
    return await _move(session, order_id, OrderEvent.CHARGE_SUCCEEDED, charge_id=charge_id)


async def settle_failed(
    session: AsyncSession, order_id: int, event: OrderEvent, *, recheck_after: float | None = None
) -> bool:
    """``pending`` → ``payment_failed`` (declined, or no charge found) and the stock and
    the discount code's use back, once, whoever gets there first. ``recheck_after``: for
    no charge found, the seconds after which the gateway is asked again (it may record
    the charge late)."""
    if event not in (OrderEvent.CHARGE_DECLINED, OrderEvent.CHARGE_NOT_FOUND):
        raise ValueError(f"{event} does not fail a payment")
    values: dict[str, Any] = {}
    if recheck_after is not None:
        values = {"rechecks": 0, "recheck_at": orders.in_seconds(recheck_after)}
    moved = await _moved(session, order_id, event, **values)
    if moved:
        await _release_holds(session, order_id)
    return moved


async def start_charge(session: AsyncSession, order_id: int) -> bool:
    """Mark a pending order as being charged, right before the charge is sent; False
    when it was settled meanwhile (then it must not be charged at all)."""
    return await _moved(session, order_id, OrderEvent.CHARGE_STARTED, clock=True)


async def fail_invalid_charge(session: AsyncSession, order_id: int, charge_id: str) -> bool:
    """A 2xx charge that is not this order's payment: the order fails, its stock comes
    back, and the charge is owed back (``refund_due``, refunded until done)."""
    moved = await _moved(session, order_id, OrderEvent.CHARGE_INVALID, charge_id=charge_id)
    if moved:
        await _release_holds(session, order_id)
    return moved


async def late_charge_found(session: AsyncSession, order_id: int, charge_id: str) -> bool:
    """A failed order (no charge found) has a charge after all: it is owed back. The
    order stays failed (its stock was returned and may be sold already)."""
    return await _moved(
        session, order_id, OrderEvent.LATE_CHARGE_FOUND, charge_id=charge_id, recheck_at=None
    )


async def orphan_refunded(session: AsyncSession, order_id: int, refund_id: str | None) -> bool:
    return await _moved(session, order_id, OrderEvent.ORPHAN_REFUNDED, refund_id=refund_id)


async def orphan_refund_refused(session: AsyncSession, order_id: int) -> bool:
    return await _moved(session, order_id, OrderEvent.ORPHAN_REFUND_REFUSED)


async def mark_unknown(session: AsyncSession, order_id: int) -> bool:
    """The checkout answered without knowing the charge's outcome; the reconciler's grace
    counts from this moment."""
    return await _moved(session, order_id, OrderEvent.OUTCOME_UNKNOWN, clock=True)


async def claim_refund(session: AsyncSession, order_id: int) -> bool:
    """Claim a paid order's refund (again, if a claim is pending): it cannot ship now."""
    return await _moved(session, order_id, OrderEvent.REFUND_CLAIMED)


async def release_refund(session: AsyncSession, order_id: int) -> bool:
    """Undo a refund claim the gateway refused for good: the order is plainly paid again."""
    return await _moved(session, order_id, OrderEvent.REFUND_RELEASED)


async def complete_refund(session: AsyncSession, order_id: int, refund_id: str | None) -> bool:
    """``paid`` (refund claimed) → ``cancelled``; the stock and the code's use back, once."""
    moved = await _moved(session, order_id, OrderEvent.REFUND_COMPLETED, refund_id=refund_id)
    if moved:
        await _release_holds(session, order_id)
    return moved


async def ship(session: AsyncSession, order_id: int) -> bool:
    """``paid`` → ``shipped``; refused from any other status or while a refund is claimed."""
    return await _moved(session, order_id, OrderEvent.SHIPPED)
