"""The state table as the database applies it: every event from every state, through the
compare-and-set ``UPDATE`` (``_move``), agrees with the table the unit tests check."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Order, OrderStatus, User
from ecommerce.services import order_state
from ecommerce.services.order_state import OrderEvent
from tests.unit.test_order_state import ALLOWED, PAYMENT_STATES


@pytest.mark.parametrize("event", list(OrderEvent), ids=str)
async def test_every_state_moves_exactly_as_the_table_says(
    db_session: AsyncSession, event: OrderEvent
) -> None:
    user = User(email=f"{event}@example.com", hashed_password="x")
    db_session.add(user)
    await db_session.flush()
    for status in OrderStatus:
        for payment in PAYMENT_STATES:
            order = Order(
                user_id=user.id, status=status, payment_status=payment, total=0, currency="USD"
            )
            db_session.add(order)
            await db_session.flush()
            moved = await order_state._move(db_session, order.id, event) is not None
            row = (
                await db_session.execute(
                    select(Order.status, Order.payment_status).where(Order.id == order.id)
                )
            ).one()
            expected = ALLOWED.get((event, status, payment))
            assert moved is (expected is not None), (event, status, payment)
            assert tuple(row) == (expected or (status, payment)), (event, status, payment)
