"""The order state table, move by move, without a database or HTTP."""

from __future__ import annotations

import itertools
import uuid

import pytest

from ecommerce.models import OrderStatus
from ecommerce.models.order import PaymentStatus
from ecommerce.services.order_state import (
    TRANSITIONS,
    OrderEvent,
    charge_key,
    next_state,
    refund_key,
)

PAYMENT_STATES: list[str | None] = [None, *PaymentStatus]

# (event, from status, from payment status) -> (to status, to payment status); every
# combination not listed here must be refused.
ALLOWED: dict[tuple[OrderEvent, OrderStatus, str | None], tuple[OrderStatus, PaymentStatus]] = {
    (OrderEvent.CHARGE_SUCCEEDED, OrderStatus.PENDING, None): (
        OrderStatus.PAID,
        PaymentStatus.SUCCEEDED,
    ),
    (OrderEvent.CHARGE_SUCCEEDED, OrderStatus.PENDING, PaymentStatus.UNKNOWN): (
        OrderStatus.PAID,
        PaymentStatus.SUCCEEDED,
    ),
    (OrderEvent.CHARGE_DECLINED, OrderStatus.PENDING, None): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.DECLINED,
    ),
    (OrderEvent.CHARGE_DECLINED, OrderStatus.PENDING, PaymentStatus.UNKNOWN): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.DECLINED,
    ),
    (OrderEvent.CHARGE_NOT_FOUND, OrderStatus.PENDING, None): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.NOT_CHARGED,
    ),
    (OrderEvent.CHARGE_NOT_FOUND, OrderStatus.PENDING, PaymentStatus.UNKNOWN): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.NOT_CHARGED,
    ),
    (OrderEvent.OUTCOME_UNKNOWN, OrderStatus.PENDING, None): (
        OrderStatus.PENDING,
        PaymentStatus.UNKNOWN,
    ),
    (OrderEvent.OUTCOME_UNKNOWN, OrderStatus.PENDING, PaymentStatus.UNKNOWN): (
        OrderStatus.PENDING,
        PaymentStatus.UNKNOWN,
    ),
    (OrderEvent.REFUND_CLAIMED, OrderStatus.PAID, PaymentStatus.SUCCEEDED): (
        OrderStatus.PAID,
        PaymentStatus.REFUND_PENDING,
    ),
    (OrderEvent.REFUND_CLAIMED, OrderStatus.PAID, PaymentStatus.REFUND_PENDING): (
        OrderStatus.PAID,
        PaymentStatus.REFUND_PENDING,
    ),
    (OrderEvent.REFUND_RELEASED, OrderStatus.PAID, PaymentStatus.REFUND_PENDING): (
        OrderStatus.PAID,
        PaymentStatus.SUCCEEDED,
    ),
    (OrderEvent.REFUND_COMPLETED, OrderStatus.PAID, PaymentStatus.REFUND_PENDING): (
        OrderStatus.CANCELLED,
        PaymentStatus.REFUNDED,
    ),
    (OrderEvent.SHIPPED, OrderStatus.PAID, PaymentStatus.SUCCEEDED): (
        OrderStatus.SHIPPED,
        PaymentStatus.SUCCEEDED,
    ),
}
# A charge being sent settles like an unknown outcome, and nothing else moves it.
for (_event, _status, _payment), _to in list(ALLOWED.items()):
    if _status is OrderStatus.PENDING and _payment is PaymentStatus.UNKNOWN:
        ALLOWED[(_event, _status, PaymentStatus.CHARGING)] = _to
ALLOWED |= {
    (OrderEvent.CHARGE_STARTED, OrderStatus.PENDING, None): (
        OrderStatus.PENDING,
        PaymentStatus.CHARGING,
    ),
    **{
        (OrderEvent.CHARGE_INVALID, OrderStatus.PENDING, payment): (
            OrderStatus.PAYMENT_FAILED,
            PaymentStatus.REFUND_DUE,
        )
        for payment in (None, PaymentStatus.UNKNOWN, PaymentStatus.CHARGING)
    },
    # Money found on a failed order is owed back; the order itself stays failed.
    (OrderEvent.LATE_CHARGE_FOUND, OrderStatus.PAYMENT_FAILED, PaymentStatus.NOT_CHARGED): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.REFUND_DUE,
    ),
    (OrderEvent.ORPHAN_REFUNDED, OrderStatus.PAYMENT_FAILED, PaymentStatus.REFUND_DUE): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.REFUNDED,
    ),
    (OrderEvent.ORPHAN_REFUND_REFUSED, OrderStatus.PAYMENT_FAILED, PaymentStatus.REFUND_DUE): (
        OrderStatus.PAYMENT_FAILED,
        PaymentStatus.REFUND_REFUSED,
    ),
}

EVERY_STATE = list(itertools.product(OrderEvent, OrderStatus, PAYMENT_STATES))


@pytest.mark.parametrize(
    ("event", "status", "payment"),
    [state for state in EVERY_STATE if state in ALLOWED],
    ids=str,
)
def test_allowed_move(event: OrderEvent, status: OrderStatus, payment: str | None) -> None:
    assert next_state(event, status, payment) == ALLOWED[(event, status, payment)]


@pytest.mark.parametrize(
    ("event", "status", "payment"),
    [state for state in EVERY_STATE if state not in ALLOWED],
    ids=str,
)
def test_refused_move(event: OrderEvent, status: OrderStatus, payment: str | None) -> None:
    assert next_state(event, status, payment) is None


def test_status_moves_are_exactly_the_contracts() -> None:
    """pending → paid → shipped; pending → payment_failed; paid → cancelled."""
    moves = {(t.from_status, t.to_status) for t in TRANSITIONS.values() if t.changes_status}
    assert moves == {
        (OrderStatus.PENDING, OrderStatus.PAID),
        (OrderStatus.PENDING, OrderStatus.PAYMENT_FAILED),
        (OrderStatus.PAID, OrderStatus.SHIPPED),
        (OrderStatus.PAID, OrderStatus.CANCELLED),
    }


def test_final_statuses_have_no_way_out() -> None:
    for status in (OrderStatus.PAYMENT_FAILED, OrderStatus.SHIPPED, OrderStatus.CANCELLED):
        for event, payment in itertools.product(OrderEvent, PAYMENT_STATES):
            moved = next_state(event, status, payment)
            # A failed order's money may still move back (an orphan charge's refund).
            assert moved is None or moved[0] == status == OrderStatus.PAYMENT_FAILED


def test_every_event_has_a_transition() -> None:
    assert set(TRANSITIONS) == set(OrderEvent)


def test_gateway_keys_derive_from_the_payment_key() -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert charge_key(key) == f"order-{key}-charge"
    assert refund_key(key) == f"order-{key}-refund"
    assert charge_key(key) != charge_key(uuid.uuid4())
