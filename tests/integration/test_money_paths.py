"""No money lost, whatever the gateway does: over HTTP, real PostgreSQL, the fake gateway.

The reconciler's background task is off here; each test sweeps when it means to, and
ages orders in the database instead of waiting for grace periods.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.core.errors import Conflict
from ecommerce.models import Order, User
from ecommerce.repositories import order as orders_repository
from ecommerce.schemas.order import OrderCreate
from ecommerce.services import checkout, order_state
from ecommerce.services.order_state import OrderEvent
from ecommerce.services.reconciler import Reconciler
from tests.conftest import make_settings
from tests.support.gateway import FakeGateway
from tests.support.metrics import parse_samples, value
from tests.support.shop import (
    assert_money_matches_orders,
    new_product,
    order_body,
    order_statuses,
    stock_of,
)

ORDERS = "/api/v1/orders"


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        payment_gateway_timeout=1.0,
        reconciler_enabled=False,
        late_charge_rechecks=(60, 300),
        decline_limit=2,
        max_pending_orders=2,
    )


@pytest.fixture
def reconciler(resources: Resources) -> Reconciler:
    return Reconciler(resources.database, resources.gateway, resources.settings)


async def age_orders(engine: AsyncEngine) -> None:
    """Every order idle for minutes (past every grace period and lease)."""
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE \"order\" SET updated_at = now() - interval '1 hour'"))


async def payment_of(engine: AsyncEngine, order_id: int) -> dict[str, Any]:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, payment_status, charge_id, refund_id, rechecks, "
                    'recheck_at - now() AS due FROM "order" WHERE id = :id'
                ),
                {"id": order_id},
            )
        ).one()
    return dict(row._mapping)


async def place(client: AsyncClient, headers: dict[str, str], product: int, **kw: Any) -> Response:
    return await client.post(ORDERS, headers=headers, json=order_body((product, 1), **kw))


async def orphan_count(client: AsyncClient, reason: str) -> float:
    samples = parse_samples((await client.get("/metrics")).text)
    return value(samples, "orphan_charges_total", reason=reason) or 0.0


@pytest.mark.parametrize(
    ("mode", "option"), [("wrong_amount", {"amount": 1}), ("wrong_currency", {"currency": "EUR"})]
)
async def test_a_2xx_charge_that_is_not_the_orders_is_refunded_and_fails_it(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    mode: str,
    option: dict[str, Any],
) -> None:
    product = await new_product(client, admin_headers, stock=3, price=4200)
    before = await orphan_count(client, "mismatch")
    await fake_gateway.set_fault(mode, operations=["charge"], times=1, **option)  # type: ignore[arg-type]
    response = await place(client, customer_headers, product["id"])
    assert response.status_code == 502, response.text
    order_id = response.json()["order_id"]
    assert "not this order's" in response.json()["detail"]
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("payment_failed", "refunded")
    assert await stock_of(admin_engine, product["id"]) == 3
    ledger = await fake_gateway.ledger()
    [charge] = ledger["charges"]
    [refund] = ledger["refunds"]
    assert refund["charge_id"] == charge["id"] and refund["amount"] == charge["amount"]
    await assert_money_matches_orders(admin_engine, ledger)
    assert await orphan_count(client, "mismatch") == before + 1
    shown = (await client.get(f"{ORDERS}/{order_id}", headers=customer_headers)).json()
    assert shown["status"] == "payment_failed"


async def test_a_late_charge_is_found_by_a_recheck_and_refunded(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    reconciler: Reconciler,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    # The gateway cuts the checkout off and records the charge a second later.
    await fake_gateway.set_fault("late", delay=1.0, operations=["charge"], times=1)
    response = await place(client, customer_headers, product["id"])
    assert response.status_code == 503, response.text
    order_id = response.json()["order_id"]
    await age_orders(admin_engine)
    await reconciler.sweep()  # before the charge exists: settled as failed, stock back
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("payment_failed", "not_charged")
    assert 50 < payment["due"].total_seconds() <= 60  # the first re-check, a minute on
    assert await stock_of(admin_engine, product["id"]) == 3
    for _ in range(200):  # the late charge lands
        if (await fake_gateway.ledger())["charges"]:
            break
        await asyncio.sleep(0.02)
    before = await orphan_count(client, "late")
    async with admin_engine.begin() as conn:
        await conn.execute(text('UPDATE "order" SET recheck_at = now()'))
    result = await reconciler.sweep()
    assert result.refunded == 1
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("payment_failed", "refunded")
    assert payment["due"] is None  # no more re-checks
    assert await stock_of(admin_engine, product["id"]) == 3  # returned once, not twice
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())
    assert await orphan_count(client, "late") == before + 1


async def test_rechecks_grow_then_stop(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    reconciler: Reconciler,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    await fake_gateway.set_fault("error", operations=["charge"], times=1)
    order_id = (await place(client, customer_headers, product["id"])).json()["order_id"]
    await age_orders(admin_engine)
    await reconciler.sweep()
    async with admin_engine.begin() as conn:
        await conn.execute(text('UPDATE "order" SET recheck_at = now()'))
    assert (await reconciler.sweep()).rechecked == 1
    payment = await payment_of(admin_engine, order_id)
    assert payment["rechecks"] == 1
    assert 230 < payment["due"].total_seconds() <= 240  # 300 s after settling, not 60
    async with admin_engine.begin() as conn:
        await conn.execute(text('UPDATE "order" SET recheck_at = now()'))
    assert (await reconciler.sweep()).rechecked == 1
    payment = await payment_of(admin_engine, order_id)
    assert (payment["rechecks"], payment["due"]) == (2, None)  # the schedule is over
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_a_definite_refusal_of_the_charge_returns_the_stock_at_once(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    await fake_gateway.set_fault("status", status=400, operations=["charge"], times=1)
    response = await place(client, customer_headers, product["id"])
    assert response.status_code == 402, response.text
    order_id = response.json()["order_id"]
    assert (await order_statuses(admin_engine))[order_id] == "payment_failed"
    assert await stock_of(admin_engine, product["id"]) == 3


@pytest.mark.parametrize("status", [409, 429, 401, 403, 500])
async def test_other_charge_errors_leave_the_outcome_unknown(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    status: int,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    await fake_gateway.set_fault("status", status=status, operations=["charge"], times=1)
    response = await place(client, customer_headers, product["id"])
    assert response.status_code == 502, response.text
    payment = await payment_of(admin_engine, response.json()["order_id"])
    assert (payment["status"], payment["payment_status"]) == ("pending", "unknown")
    assert await stock_of(admin_engine, product["id"]) == 2  # held for the reconciler


async def paid_order(client: AsyncClient, headers: dict[str, str], product: int) -> int:
    response = await place(client, headers, product)
    assert response.status_code == 201, response.text
    order_id: int = response.json()["id"]
    return order_id


async def test_a_throttled_refund_is_retried_until_done(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    reconciler: Reconciler,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    order_id = await paid_order(client, customer_headers, product["id"])
    await fake_gateway.set_fault("status", status=429, operations=["refund"], times=2)
    cancel = await client.post(f"{ORDERS}/{order_id}/cancel", headers=customer_headers)
    assert cancel.status_code == 502  # never 200 while the order is still paid
    assert "completed automatically" in cancel.json()["detail"]
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("paid", "refund_pending")
    ship = await client.post(f"{ORDERS}/{order_id}/ship", headers=admin_headers)
    assert ship.status_code == 409  # a refund is claimed: it cannot ship meanwhile
    await age_orders(admin_engine)
    await reconciler.sweep()  # the second 429
    assert (await payment_of(admin_engine, order_id))["payment_status"] == "refund_pending"
    await age_orders(admin_engine)
    assert (await reconciler.sweep()).refunded == 1
    assert (await order_statuses(admin_engine))[order_id] == "cancelled"
    assert await stock_of(admin_engine, product["id"]) == 3
    ledger = await fake_gateway.ledger()
    assert len(ledger["refunds"]) == 1
    await assert_money_matches_orders(admin_engine, ledger)


async def test_a_definite_refusal_of_the_refund_leaves_the_order_paid(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    order_id = await paid_order(client, customer_headers, product["id"])
    await fake_gateway.set_fault("status", status=400, operations=["refund"], times=1)
    cancel = await client.post(f"{ORDERS}/{order_id}/cancel", headers=customer_headers)
    assert cancel.status_code == 502
    assert "stays paid" in cancel.json()["detail"]
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("paid", "succeeded")


async def test_two_concurrent_cancels_make_one_refund(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    order_id = await paid_order(client, customer_headers, product["id"])
    answers = await asyncio.gather(
        *(client.post(f"{ORDERS}/{order_id}/cancel", headers=customer_headers) for _ in range(2))
    )
    codes = sorted(a.status_code for a in answers)
    assert codes in ([200, 200], [200, 409]), [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 200:
            assert answer.json()["status"] == "cancelled"
    ledger = await fake_gateway.ledger()
    assert len(ledger["refunds"]) == 1
    assert await stock_of(admin_engine, product["id"]) == 3
    await assert_money_matches_orders(admin_engine, ledger)


async def test_a_total_above_the_maximum_is_422_and_reserves_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=10, price=60_000_000)
    response = await client.post(
        ORDERS, headers=customer_headers, json=order_body((product["id"], 2))
    )
    assert response.status_code == 422, response.text
    assert "99999999" in response.json()["detail"]
    assert await stock_of(admin_engine, product["id"]) == 10
    assert await order_statuses(admin_engine) == {}
    assert (await fake_gateway.ledger())["charges"] == []


async def test_pending_orders_per_user_are_capped(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    other_customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=10)
    await fake_gateway.set_fault("error", operations=["charge"], times=2)
    for _ in range(2):  # max_pending_orders=2: both stay pending (unknown outcome)
        assert (await place(client, customer_headers, product["id"])).status_code == 502
    third = await place(client, customer_headers, product["id"])
    assert third.status_code == 429, third.text
    assert int(third.headers["retry-after"]) >= 1
    assert await stock_of(admin_engine, product["id"]) == 8  # the third reserved nothing
    # Another customer is not affected.
    assert (await place(client, other_customer_headers, product["id"])).status_code == 201


async def test_the_pending_cap_is_exact_under_concurrent_checkouts(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_user: User,
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    # Every charge fails with an unknown outcome, so every order placed stays pending:
    # of 8 checkouts of one customer at once exactly max_pending_orders=2 get through.
    # Distinct products: no product row lock orders the checkouts, only the cap's own.
    # The test holds the cap's lock until all 8 wait for it, then lets them race: without
    # the lock, or with it taken inside the insert, more than 2 get through.
    products = [await new_product(client, admin_headers, stock=1) for _ in range(8)]
    await fake_gateway.set_fault("error", operations=["charge"], times=8)
    space, key = orders_repository.pending_lock_key(customer_user.id)
    waiting = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid = :space AND objid = :key AND objsubid = 2"
    )
    async with admin_engine.begin() as holder:
        await holder.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                             {"space": space, "key": key})  # fmt: skip
        placing = asyncio.gather(
            *(place(client, customer_headers, product["id"]) for product in products)
        )
        async with admin_engine.connect() as watcher:
            for _ in range(600):
                count = (await watcher.execute(waiting, {"space": space, "key": key})).scalar()
                if count == 8 or placing.done():
                    break
                await asyncio.sleep(0.05)
        assert not placing.done(), "the checkouts did not wait for the pending-order lock"
        assert count == 8
    answers = await placing
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [429] * 6 + [502] * 2, [answer.text for answer in answers]
    assert sorted((await order_statuses(admin_engine)).values()) == ["pending", "pending"]
    stocks = [await stock_of(admin_engine, product["id"]) for product in products]
    assert sorted(stocks) == [0, 0] + [1] * 6  # the refused reserved nothing


async def test_declines_past_the_limit_are_429_without_asking_the_gateway(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    other_customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=10)
    for _ in range(2):  # decline_limit=2
        declined = await place(client, customer_headers, product["id"], token="tok_chargeDeclined")
        assert declined.status_code == 402
    # A fault armed for the next charge proves the gateway is not called at all.
    await fake_gateway.set_fault("error", operations=["charge"], times=1)
    refused = await place(client, customer_headers, product["id"])
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert await stock_of(admin_engine, product["id"]) == 10
    gateway_fault = await fake_gateway._http.get("/_control/faults")
    assert gateway_fault.json()["fault"]["times"] == 1  # still armed: never reached
    await fake_gateway.clear_faults()
    assert (await place(client, other_customer_headers, product["id"])).status_code == 201


async def test_an_orphan_refund_is_persisted_and_retried_until_done(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    reconciler: Reconciler,
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    await fake_gateway.set_fault("late", delay=0.5, operations=["charge"], times=1)
    order_id = (await place(client, customer_headers, product["id"])).json()["order_id"]
    await age_orders(admin_engine)
    await reconciler.sweep()  # no charge yet: failed
    for _ in range(200):
        if (await fake_gateway.ledger())["charges"]:
            break
        await asyncio.sleep(0.02)
    # The re-check finds the charge, but its refund is throttled: the debt is kept.
    await fake_gateway.set_fault("status", status=429, operations=["refund"], times=1)
    async with admin_engine.begin() as conn:
        await conn.execute(text('UPDATE "order" SET recheck_at = now()'))
    assert (await reconciler.sweep()).unresolved == 1
    payment = await payment_of(admin_engine, order_id)
    assert (payment["status"], payment["payment_status"]) == ("payment_failed", "refund_due")
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())
    await age_orders(admin_engine)
    assert (await reconciler.sweep()).refunded == 1
    assert (await payment_of(admin_engine, order_id))["payment_status"] == "refunded"
    ledger = await fake_gateway.ledger()
    assert len(ledger["refunds"]) == 1
    await assert_money_matches_orders(admin_engine, ledger)


async def test_an_order_settled_before_its_charge_is_never_charged(
    resources: Resources,
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_user: User,
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    """The conditional charging mark: an order that someone else moved between its
    creation and its charge (here: its create step leaves it settled) is not charged."""
    product = await new_product(client, admin_headers, stock=3)
    direct = checkout.reserve_and_create(
        resources.settings,
        customer_user.id,
        OrderCreate.model_validate(order_body((product["id"], 1))),
    )

    async def create_then_settle(session: AsyncSession) -> Order:
        order = await direct(session)
        await order_state.settle_failed(session, order.id, OrderEvent.CHARGE_NOT_FOUND)
        return order

    with pytest.raises(Conflict, match="settled before its charge was sent"):
        await checkout.place_order(
            resources.database,
            resources.gateway,
            resources.settings,
            create=create_then_settle,
            payment_token="tok_visa",
        )
    assert (await fake_gateway.ledger())["charges"] == []
    assert await stock_of(admin_engine, product["id"]) == 3
