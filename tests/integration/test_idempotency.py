"""Idempotency-Key on POST /api/v1/orders."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.api.resources import Resources
from ecommerce.repositories import idempotency as keys
from ecommerce.schemas.order import OrderCreate
from ecommerce.services.idempotency import fingerprint
from tests.support.factories import (
    add_pending_order,
    age_idempotency_keys,
    create_user,
    new_customer,
    new_product,
    order_body,
)
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, order_statuses, stock_of


def body(product_id: int, quantity: int = 1) -> dict[str, Any]:
    return order_body((product_id, quantity))


async def test_concurrent_requests_with_one_key_make_one_order(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=50)
    headers = customer_headers | {"Idempotency-Key": "checkout-42"}
    responses = await asyncio.gather(
        *(
            client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
            for _ in range(15)
        )
    )
    codes = [r.status_code for r in responses]
    # Each duplicate either waited and replayed the answer, or was told 409 at once.
    assert set(codes) <= {201, 409}
    created = [r.json() for r in responses if r.status_code == 201]
    assert created and all(c == created[0] for c in created)
    assert len(await order_statuses(admin_engine)) == 1
    assert len((await fake_gateway.ledger())["charges"]) == 1
    assert await stock_of(admin_engine, product["id"]) == 49

    replay = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert replay.status_code == 201
    assert replay.json() == created[0]
    first = next(r for r in responses if r.status_code == 201)
    assert replay.content == first.content  # the same answer, byte for byte
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_same_key_different_body_is_422(
    client: AsyncClient, admin_headers: dict[str, str], customer_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    headers = customer_headers | {"Idempotency-Key": "k1"}
    assert (
        await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    ).status_code == 201
    other = await client.post("/api/v1/orders", headers=headers, json=body(product["id"], 2))
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]


async def test_key_is_scoped_to_the_user(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    someone_else = await new_customer(client)
    key = {"Idempotency-Key": "shared-key"}
    first = await client.post(
        "/api/v1/orders", headers=customer_headers | key, json=body(product["id"])
    )
    second = await client.post(
        "/api/v1/orders", headers=someone_else | key, json=body(product["id"])
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert await stock_of(admin_engine, product["id"]) == 3


async def test_errors_are_replayed_too(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=1)
    headers = customer_headers | {"Idempotency-Key": "declined-once"}
    declined = {
        "items": [{"product_id": product["id"], "quantity": 1}],
        "payment_token": "tok_chargeDeclined",
    }
    first = await client.post("/api/v1/orders", headers=headers, json=declined)
    again = await client.post("/api/v1/orders", headers=headers, json=declined)
    assert first.status_code == again.status_code == 402
    assert first.json() == again.json()
    assert len(await order_statuses(admin_engine)) == 1


async def test_an_unknown_outcome_is_replayed_and_the_order_settles(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    headers = customer_headers | {"Idempotency-Key": "flaky-network"}
    await fake_gateway.set_fault("charge_then_error", operations=["charge"], times=1)
    first = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert first.status_code == 502
    order_id = first.json()["order_id"]
    # A retry gets the same answer (API.md: same status code and body), never a new order.
    again = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert (again.status_code, again.json()) == (502, first.json())
    # The order it names settles; that is where the client reads the outcome.
    for _ in range(100):
        if (await order_statuses(admin_engine))[order_id] != "pending":
            break
        await asyncio.sleep(0.1)
    order = (await client.get(f"/api/v1/orders/{order_id}", headers=customer_headers)).json()
    assert order["status"] == "paid"
    late = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert (late.status_code, late.json()) == (502, first.json())
    assert len(await order_statuses(admin_engine)) == 1
    assert len((await fake_gateway.ledger())["charges"]) == 1
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_key_length_is_checked(client: AsyncClient, customer_headers: dict[str, str]) -> None:
    headers = customer_headers | {"Idempotency-Key": "x" * 256}
    response = await client.post("/api/v1/orders", headers=headers, json=body(1))
    assert response.status_code == 422


async def test_old_keys_are_purged(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    resources: Resources,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    headers = customer_headers | {"Idempotency-Key": "old"}
    assert (
        await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    ).status_code == 201
    await age_idempotency_keys(admin_engine, created=timedelta(hours=25))
    result = await resources.reconciler.sweep()
    assert result.purged_keys == 1
    # The key is free again: the same request now places a new order.
    again = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert again.status_code == 201
    assert len(await order_statuses(admin_engine)) == 2


async def test_a_holder_whose_lease_ran_out_cannot_link_its_order(
    db_session: AsyncSession,
) -> None:
    user = await create_user(db_session, "holder@example.com")
    slow = await keys.claim(db_session, user_id=user.id, key="k", fingerprint="f")
    assert slow is not None
    # The first holder stalls past its lease; a retry takes the key over.
    await age_idempotency_keys(db_session, locked=timedelta(minutes=2))
    fresh = await keys.take_over(db_session, slow.row_id, lease=timedelta(seconds=60))
    assert fresh is not None
    # The stalled holder is fenced off, so its order rolls back; the new holder links.
    assert not await keys.link_order(db_session, slow, 1)
    order = await add_pending_order(db_session, user.id)
    assert await keys.link_order(db_session, fresh, order)


async def _key_held_by_a_dead_holder(
    admin_engine: AsyncEngine, user_id: int, key: str, request: dict[str, Any], order_id: int
) -> None:
    """A key whose holder linked its order and died before storing the answer."""
    print_ = fingerprint("POST", "/api/v1/orders", OrderCreate(**request).model_dump(mode="json"))
    async with admin_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO idempotency_key (user_id, key, fingerprint, order_id, locked_at) "
                "VALUES (:user, :key, :print, :order, now() - interval '1 hour')"
            ),
            {"user": user_id, "key": key, "print": print_, "order": order_id},
        )


async def test_a_retry_after_the_holder_died_answers_from_its_order(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    customer_user: Any,
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    request = body(product["id"])
    paid = await client.post("/api/v1/orders", headers=customer_headers, json=request)
    assert paid.status_code == 201
    await _key_held_by_a_dead_holder(
        admin_engine, customer_user.id, "died-after-paying", request, paid.json()["id"]
    )
    headers = customer_headers | {"Idempotency-Key": "died-after-paying"}
    retry = await client.post("/api/v1/orders", headers=headers, json=request)
    assert retry.status_code == 201
    assert retry.json()["id"] == paid.json()["id"]  # the order, not a second one
    again = await client.post("/api/v1/orders", headers=headers, json=request)
    assert again.content == retry.content  # stored, then replayed as it was
    assert await stock_of(admin_engine, product["id"]) == 4


async def test_a_retry_while_the_dead_holders_order_settles_is_409_and_frees_the_key(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    customer_user: Any,
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    request = body(product["id"])
    order_id = await add_pending_order(admin_engine, customer_user.id)
    await _key_held_by_a_dead_holder(admin_engine, customer_user.id, "died", request, order_id)
    headers = customer_headers | {"Idempotency-Key": "died"}
    retry = await client.post("/api/v1/orders", headers=headers, json=request)
    assert retry.status_code == 409
    assert retry.json()["order_id"] == order_id
    async with admin_engine.connect() as conn:
        locked = await conn.scalar(text("SELECT locked_at FROM idempotency_key"))
    assert locked is None  # freed at once: the next retry need not wait out a lease


async def test_a_replay_is_byte_identical_with_non_ascii_names(
    client: AsyncClient, admin_headers: dict[str, str], customer_headers: dict[str, str]
) -> None:
    product = await new_product(
        client, admin_headers, stock=5, name='Café «crème» ☕ \\ "quoted" \u2028 ünï'
    )
    headers = customer_headers | {"Idempotency-Key": "bytes"}
    first = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    replay = await client.post("/api/v1/orders", headers=headers, json=body(product["id"]))
    assert first.status_code == replay.status_code == 201
    assert first.content == replay.content
    assert first.headers["content-type"] == replay.headers["content-type"]
