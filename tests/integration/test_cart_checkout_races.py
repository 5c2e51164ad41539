"""Cart checkouts under concurrency and retries: one order, one charge, never oversold."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.carts import cart_with
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, new_customer, new_product, stock_of

PAY = {"payment_token": "tok_visa"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reconcile_interval": 0.5})


async def _orders(engine: AsyncEngine) -> list[tuple[int, str]]:
    async with engine.connect() as conn:
        rows = await conn.execute(text('SELECT id, status FROM "order" ORDER BY id'))
        return [(row.id, row.status) for row in rows]


async def test_two_concurrent_checkouts_of_one_cart(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=10, price=1500)
    cart = await cart_with(client, [(product["id"], 2)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}/checkout"
    first, second = await asyncio.gather(client.post(url, json=PAY), client.post(url, json=PAY))
    assert sorted((first.status_code, second.status_code)) == [201, 409], (first.text, second.text)
    assert len(await _orders(admin_engine)) == 1
    ledger = await fake_gateway.ledger()
    assert len(ledger["charges"]) == 1
    assert await stock_of(admin_engine, product["id"]) == 8
    await assert_money_matches_orders(admin_engine, ledger)


async def test_the_last_unit_in_twenty_carts(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=1, price=999)
    carts = [
        await cart_with(client, [(product["id"], 1)], email=f"c{n}@example.com") for n in range(20)
    ]
    answers = await asyncio.gather(
        *(client.post(f"/api/v1/carts/{cart['id']}/checkout", json=PAY) for cart in carts)
    )
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [201] + [409] * 19, [
        answer.text for answer in answers if answer.status_code != 409
    ]
    assert await stock_of(admin_engine, product["id"]) == 0
    assert [status for _, status in await _orders(admin_engine)] == ["paid"]
    ledger = await fake_gateway.ledger()
    assert len(ledger["charges"]) == 1
    await assert_money_matches_orders(admin_engine, ledger)
    # The losing carts are still open: their customers can change them.
    statuses = [
        (await client.get(f"/api/v1/carts/{cart['id']}")).json()["status"] for cart in carts
    ]
    assert sorted(statuses) == ["completed"] + ["open"] * 19


async def test_idempotent_retries_of_a_guest_checkout(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=10, price=1500)
    cart = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}/checkout"
    key = {"Idempotency-Key": "checkout-1"}
    answers = await asyncio.gather(*(client.post(url, headers=key, json=PAY) for _ in range(3)))
    assert [answer.status_code for answer in answers] == [201] * 3
    assert len({answer.text for answer in answers}) == 1  # the same answer, byte for byte
    later = await client.post(url, headers=key, json=PAY)
    assert (later.status_code, later.text) == (201, answers[0].text)
    assert len(await _orders(admin_engine)) == 1
    assert len((await fake_gateway.ledger())["charges"]) == 1
    other_body = await client.post(url, headers=key, json={**PAY, "expected_total": 1500})
    assert other_body.status_code == 422
    # The same key on another guest's cart is another request.
    other = await cart_with(client, [(product["id"], 1)], email="b@example.com")
    placed = await client.post(f"/api/v1/carts/{other['id']}/checkout", headers=key, json=PAY)
    assert placed.status_code == 201
    assert placed.json()["id"] != answers[0].json()["id"]
    unknown = await client.post("/api/v1/carts/nope/checkout", headers=key, json=PAY)
    assert unknown.status_code == 404


async def test_idempotent_retries_of_an_account_checkout(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    customer = await new_customer(client)
    product = await new_product(client, admin_headers, stock=10, price=1500)
    cart = await cart_with(client, [(product["id"], 2)], customer)
    url = f"/api/v1/carts/{cart['id']}/checkout"
    headers = {**customer, "Idempotency-Key": "k-1"}
    first = await client.post(url, headers=headers, json=PAY)
    second = await client.post(url, headers=headers, json=PAY)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert len(await _orders(admin_engine)) == 1
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_a_checkout_whose_payment_is_unknown_is_settled_later(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    settings: Settings,
) -> None:
    product = await new_product(client, admin_headers, stock=3, price=1500)
    cart = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}"
    await fake_gateway.set_fault("error", operations=["charge"], times=1)
    response = await client.post(f"{url}/checkout", json=PAY)
    assert response.status_code == 502, response.text
    order_id = response.json()["order_id"]
    # While the payment is being settled the cart takes no writes (its stock is held).
    busy = await client.patch(url, json={"email": "b@example.com"})
    assert busy.status_code == 409
    assert (await client.get(f"{url}/order")).json()["id"] == order_id
    order = await _wait_settled(client, url, settings)
    # The gateway answered 500 without charging: the reconciler fails the order and the
    # cart is open again, with its stock back.
    assert order["status"] == "payment_failed"
    assert (await client.get(url)).json()["status"] == "open"
    assert await stock_of(admin_engine, product["id"]) == 3
    assert (await client.post(f"{url}/checkout", json=PAY)).status_code == 201
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def _wait_settled(client: AsyncClient, url: str, settings: Settings) -> dict[str, Any]:
    bound = settings.reconcile_interval + 2 * settings.payment_gateway_timeout + 3
    deadline = time.monotonic() + bound
    order_url = None
    while True:
        if order_url is None:
            order_url = f"{url}/order"
        response = await client.get(order_url)
        if response.status_code == 404:  # failed: the cart no longer leads to it
            return {"status": "payment_failed"}
        order: dict[str, Any] = response.json()
        if order["status"] != "pending" or time.monotonic() > deadline:
            return order
        await asyncio.sleep(0.1)
