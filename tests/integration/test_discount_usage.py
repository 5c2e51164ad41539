"""Taking and giving back uses of a code: the service steps against real PostgreSQL.

Over HTTP the same steps run inside checkouts (test_checkout_tax_discounts.py); here
many transactions race on them directly, each on its own connection.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.core.errors import Conflict
from ecommerce.models import Discount, DiscountUse, Order, User
from ecommerce.services import discounts
from ecommerce.services.discounts import DiscountNotApplicable, Reason
from tests.support.auth import create_user

NOW = datetime(2026, 7, 1, tzinfo=UTC)


async def _discount(engine: AsyncEngine, **values: Any) -> Discount:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        discount = Discount(code="RACE", kind="fixed", value=100, **values)
        session.add(discount)
        await session.commit()
    return discount


async def _orders(engine: AsyncEngine, user: User, count: int) -> list[int]:
    async with engine.begin() as conn:
        row = {"user_id": user.id, "status": "pending", "total": 900, "currency": "USD"}
        rows = await conn.execute(insert(Order).values([row] * count).returning(Order.id))
        return [row.id for row in rows]


async def _times_used(engine: AsyncEngine, discount_id: int) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(select(Discount.times_used).where(Discount.id == discount_id))
    return int(value or 0)


async def _take(
    engine: AsyncEngine, discount: Discount, order_id: int, email: str, user_id: int | None
) -> bool:
    async with AsyncSession(engine) as session, session.begin():
        try:
            await discounts.take_use(
                session,
                discount_id=discount.id,
                per_customer_limit=discount.per_customer_limit,
                order_id=order_id,
                user_id=user_id,
                email=email,
            )
        except Conflict:
            await session.rollback()
            return False
        await asyncio.sleep(0.01)  # hold the lock a moment: the others queue behind it
    return True


async def test_twenty_racing_takes_of_a_single_use_code(admin_engine: AsyncEngine) -> None:
    user = await create_user(admin_engine, "racer@example.com")
    discount = await _discount(admin_engine, usage_limit=1)
    orders = await _orders(admin_engine, user, 20)
    taken = await asyncio.gather(
        *(_take(admin_engine, discount, o, f"c{o}@example.com", user.id) for o in orders)
    )
    assert taken.count(True) == 1
    assert await _times_used(admin_engine, discount.id) == 1
    async with admin_engine.connect() as conn:
        uses = (await conn.execute(select(DiscountUse.order_id))).scalars().all()
    assert uses == [orders[taken.index(True)]]


async def test_a_use_is_given_back_exactly_once(admin_engine: AsyncEngine) -> None:
    user = await create_user(admin_engine, "giver@example.com")
    discount = await _discount(admin_engine, usage_limit=3)
    [order_id, other] = await _orders(admin_engine, user, 2)
    assert await _take(admin_engine, discount, order_id, "a@example.com", user.id)
    assert await _take(admin_engine, discount, other, "b@example.com", user.id)
    assert await _times_used(admin_engine, discount.id) == 2

    async def give_back() -> int | None:
        async with AsyncSession(admin_engine) as session, session.begin():
            return await discounts.give_back(session, order_id)

    results = await asyncio.gather(*(give_back() for _ in range(10)))
    assert results.count(discount.id) == 1
    assert results.count(None) == 9
    assert await _times_used(admin_engine, discount.id) == 1


async def test_per_customer_limit_holds_under_a_race(admin_engine: AsyncEngine) -> None:
    user = await create_user(admin_engine, "limited@example.com")
    discount = await _discount(admin_engine, per_customer_limit=2)
    orders = await _orders(admin_engine, user, 12)
    # The same customer, spelled in different cases, and one other customer.
    spellings = ["same@example.com", "SAME@example.com", "Same@Example.COM"]
    emails = [spellings[i % 3] for i in range(10)]
    taken = await asyncio.gather(
        *(_take(admin_engine, discount, o, e, None) for o, e in zip(orders, emails, strict=False)),
        _take(admin_engine, discount, orders[10], "other@example.com", None),
    )
    assert taken[:10].count(True) == 2
    assert taken[10] is True
    assert await _times_used(admin_engine, discount.id) == 3


@pytest.mark.parametrize(
    ("values", "subtotal", "reason"),
    [
        ({"is_active": False}, 5000, Reason.INACTIVE),
        ({"ends_at": NOW}, 5000, Reason.EXPIRED),
        ({"starts_at": NOW + timedelta(seconds=1)}, 5000, Reason.NOT_YET_VALID),
        ({"usage_limit": 1, "times_used": 1}, 5000, Reason.USED_UP),
        ({"min_subtotal": 5001}, 5000, Reason.BELOW_MINIMUM),
    ],
)
async def test_why_a_code_does_not_apply(
    admin_engine: AsyncEngine, values: dict[str, Any], subtotal: int, reason: Reason
) -> None:
    await _discount(admin_engine, **values)
    async with AsyncSession(admin_engine) as session:
        with pytest.raises(DiscountNotApplicable) as raised:
            await discounts.find_applicable(session, "race", subtotal=subtotal, now=NOW)
        assert raised.value.reason is reason
        assert raised.value.status_code == 422
        unknown = discounts.find_applicable(session, "nope", subtotal=subtotal, now=NOW)
        with pytest.raises(DiscountNotApplicable) as raised:
            await unknown
        assert raised.value.reason is Reason.UNKNOWN


async def test_a_valid_code_applies(admin_engine: AsyncEngine) -> None:
    await _discount(
        admin_engine,
        min_subtotal=5000,
        starts_at=NOW,
        ends_at=NOW + timedelta(days=1),
        usage_limit=1,
    )
    async with AsyncSession(admin_engine) as session:
        found = await discounts.find_applicable(session, "Race", subtotal=5000, now=NOW)
    assert found.code == "RACE"
    assert discounts.rule_of(found).value == 100


async def test_used_up_at_checkout_is_a_conflict(admin_engine: AsyncEngine) -> None:
    await _discount(admin_engine, usage_limit=2, times_used=2)
    async with AsyncSession(admin_engine) as session:
        with pytest.raises(discounts.DiscountUsedUp) as raised:
            await discounts.find_applicable(
                session, "RACE", subtotal=1000, now=NOW, at_checkout=True
            )
    assert raised.value.status_code == 409
    assert raised.value.extra == {"reason": "used_up"}
