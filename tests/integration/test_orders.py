"""Order reads, cancel (refund) and ship, with their permissions."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.factories import new_product, place_order
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, stock_of


async def place(
    client: AsyncClient,
    headers: dict[str, str],
    product_id: int,
    quantity: int = 1,
    token: str = "tok_visa",
) -> dict[str, Any]:
    response = await place_order(client, headers, (product_id, quantity), token=token)
    if response.status_code == 402:
        got = await client.get(f"/api/v1/orders/{response.json()['order_id']}", headers=headers)
        result: dict[str, Any] = got.json()
        return result
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def product(client: AsyncClient, admin_headers: dict[str, str]) -> dict[str, Any]:
    return await new_product(client, admin_headers, stock=10, price=1250)


async def test_orders_are_private(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    other_customer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    mine = await place(client, customer_headers, product["id"])
    theirs = await place(client, other_customer_headers, product["id"])
    assert (
        await client.get(f"/api/v1/orders/{theirs['id']}", headers=customer_headers)
    ).status_code == 404
    assert (await client.get("/api/v1/orders/999999", headers=customer_headers)).status_code == 404
    listed = (await client.get("/api/v1/orders", headers=customer_headers)).json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]
    everyone = (await client.get("/api/v1/orders", headers=admin_headers)).json()
    assert [o["id"] for o in everyone["items"]] == [mine["id"], theirs["id"]]
    assert (
        await client.get(f"/api/v1/orders/{theirs['id']}", headers=admin_headers)
    ).status_code == 200
    assert (await client.get("/api/v1/orders")).status_code == 401
    # Others' orders are not theirs to cancel either: 404, not 403.
    cancel = await client.post(f"/api/v1/orders/{theirs['id']}/cancel", headers=customer_headers)
    assert cancel.status_code == 404


async def test_list_pages_by_cursor(
    client: AsyncClient, product: dict[str, Any], customer_headers: dict[str, str]
) -> None:
    ids = [(await place(client, customer_headers, product["id"]))["id"] for _ in range(5)]
    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/orders", headers=customer_headers, params=params)).json()
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    bad = await client.get("/api/v1/orders", headers=customer_headers, params={"cursor": "nope"})
    assert bad.status_code == 422


async def test_cancel_refunds_and_returns_stock(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    order = await place(client, customer_headers, product["id"], quantity=3)
    assert await stock_of(admin_engine, product["id"]) == 7
    response = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer_headers)
    assert response.status_code == 200, response.text
    cancelled = response.json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["payment"]["status"] == "refunded"
    assert await stock_of(admin_engine, product["id"]) == 10
    ledger = await fake_gateway.ledger()
    assert [(r["charge_id"], r["amount"]) for r in ledger["refunds"]] == [
        (order["payment"]["charge_id"], 3 * 1250)
    ]
    again = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer_headers)
    assert again.status_code == 409
    assert await stock_of(admin_engine, product["id"]) == 10
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_admin_can_cancel_any_order(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    order = await place(client, customer_headers, product["id"])
    response = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=admin_headers)
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"


async def test_only_paid_orders_cancel(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    failed = await place(client, customer_headers, product["id"], token="tok_chargeDeclined")
    assert failed["status"] == "payment_failed"
    response = await client.post(f"/api/v1/orders/{failed['id']}/cancel", headers=customer_headers)
    assert response.status_code == 409
    shipped = await place(client, customer_headers, product["id"])
    assert (
        await client.post(f"/api/v1/orders/{shipped['id']}/ship", headers=admin_headers)
    ).status_code == 200
    response = await client.post(f"/api/v1/orders/{shipped['id']}/cancel", headers=customer_headers)
    assert response.status_code == 409


async def test_ship(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_headers: dict[str, str],
) -> None:
    order = await place(client, customer_headers, product["id"])
    assert (await client.post(f"/api/v1/orders/{order['id']}/ship")).status_code == 401
    assert (
        await client.post(f"/api/v1/orders/{order['id']}/ship", headers=customer_headers)
    ).status_code == 403
    shipped = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert shipped.status_code == 200
    assert shipped.json()["status"] == "shipped"
    twice = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert twice.status_code == 409
    assert (
        await client.post("/api/v1/orders/999999/ship", headers=admin_headers)
    ).status_code == 404
    failed = await place(client, customer_headers, product["id"], token="tok_chargeDeclined")
    response = await client.post(f"/api/v1/orders/{failed['id']}/ship", headers=admin_headers)
    assert response.status_code == 409


async def test_failed_refund_blocks_shipping_and_is_completed_later(
    app: Any,
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    order = await place(client, customer_headers, product["id"], quantity=2)
    await fake_gateway.set_fault("error", operations=["refund"], times=1)
    response = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer_headers)
    assert response.status_code == 502
    assert response.json()["order_id"] == order["id"]
    current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer_headers)).json()
    assert current["status"] == "paid"
    assert current["payment"]["status"] == "refund_pending"
    # A cancel under way cannot be overtaken by shipping the goods.
    ship = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert ship.status_code == 409
    # Retrying the cancel completes it with the same refund key: one refund.
    retry = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer_headers)
    assert retry.status_code == 200
    assert retry.json()["status"] == "cancelled"
    assert await stock_of(admin_engine, product["id"]) == 10
    ledger = await fake_gateway.ledger()
    assert len(ledger["refunds"]) == 1
    await assert_money_matches_orders(admin_engine, ledger)


async def test_a_refund_the_gateway_refuses_leaves_the_order_paid(
    client: AsyncClient,
    product: dict[str, Any],
    customer_headers: dict[str, str],
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    order = await place(client, customer_headers, product["id"], quantity=2)
    await fake_gateway.reset()  # the gateway no longer knows the charge: refunds are 404
    response = await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=customer_headers)
    assert response.status_code == 502
    assert "refused" in response.json()["detail"]
    assert response.json()["order_id"] == order["id"]
    current = (await client.get(f"/api/v1/orders/{order['id']}", headers=customer_headers)).json()
    assert (current["status"], current["payment"]["status"]) == ("paid", "succeeded")
    assert await stock_of(admin_engine, product["id"]) == 8
    # Nothing is left hanging: the order can still be shipped.
    shipped = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert shipped.status_code == 200
