"""The reconciler: settles unknown outcomes once, however many run, whatever fails."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.devtools.fake_gateway import Mode
from ecommerce.models import OrderStatus
from ecommerce.services.reconciler import Reconciler
from tests.support.factories import age_orders, new_product, order_body
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, order_statuses, stock_of


async def unknown_outcome_orders(
    client: AsyncClient,
    headers: dict[str, str],
    fake_gateway: FakeGateway,
    product_id: int,
    mode: Mode,
    count: int,
) -> list[int]:
    ids = []
    for _ in range(count):
        await fake_gateway.set_fault(mode, operations=["charge"], times=1)
        response = await client.post(
            "/api/v1/orders",
            headers=headers,
            json=order_body((product_id, 1)),
        )
        assert response.status_code == 502, response.text
        ids.append(response.json()["order_id"])
    return ids


async def make_settleable(engine: AsyncEngine) -> None:
    """Age every pending order past the grace period, as if minutes went by."""
    await age_orders(engine, timedelta(minutes=1), status=OrderStatus.PENDING)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The reconcilers of each test are the only ones: the app's own background sweep
    # would otherwise claim orders in between, and what one sweep did could not be told.
    return settings.model_copy(update={"reconciler_enabled": False})


async def test_many_reconcilers_settle_each_order_once(
    resources: Resources,
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=20)
    charged = await unknown_outcome_orders(
        client, customer_headers, fake_gateway, product["id"], "charge_then_error", 5
    )
    not_charged = await unknown_outcome_orders(
        client, customer_headers, fake_gateway, product["id"], "error", 5
    )
    assert await stock_of(admin_engine, product["id"]) == 10
    await make_settleable(admin_engine)
    r = resources
    reconcilers = [Reconciler(r.database, r.gateway, r.settings) for _ in range(4)]
    await asyncio.gather(*(r.sweep() for r in reconcilers))
    statuses = await order_statuses(admin_engine)
    assert {statuses[i] for i in charged} == {"paid"}
    assert {statuses[i] for i in not_charged} == {"payment_failed"}
    # Stock came back exactly once for each failed order.
    assert await stock_of(admin_engine, product["id"]) == 15
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_reconciler_keeps_going_while_the_gateway_is_down(
    resources: Resources,
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    [order_id] = await unknown_outcome_orders(
        client, customer_headers, fake_gateway, product["id"], "charge_then_error", 1
    )
    await make_settleable(admin_engine)
    reconciler = Reconciler(resources.database, resources.gateway, resources.settings)
    await fake_gateway.set_fault("error", operations=["lookup"])
    result = await reconciler.sweep()
    # The sweep took the order, could not look the charge up, and left it for later.
    assert (result.claimed, result.unresolved, result.paid, result.failed) == (1, 1, 0, 0)
    assert (await order_statuses(admin_engine))[order_id] == "pending"
    await fake_gateway.clear_faults()
    await make_settleable(admin_engine)  # the failed attempt's lease, as if it ran out
    await reconciler.sweep()
    assert (await order_statuses(admin_engine))[order_id] == "paid"
    assert await stock_of(admin_engine, product["id"]) == 4
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_reconciler_completes_an_unconfirmed_refund(
    resources: Resources,
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    response = await client.post(
        "/api/v1/orders",
        headers=customer_headers,
        json=order_body((product["id"], 2)),
    )
    order_id = response.json()["id"]
    # The gateway refunds but the answer is lost: the outcome is unknown to us.
    await fake_gateway.set_fault("hang", operations=["refund"], times=1)
    cancel = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=customer_headers)
    assert cancel.status_code == 504
    await age_orders(admin_engine, timedelta(minutes=1))
    reconciler = Reconciler(resources.database, resources.gateway, resources.settings)
    await reconciler.sweep()
    assert (await order_statuses(admin_engine))[order_id] == "cancelled"
    assert await stock_of(admin_engine, product["id"]) == 5
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())
