"""A zone deleted or a method dropped never writes the carts that had chosen it.

Before: the foreign key's ``ON DELETE SET NULL`` rewrote those carts behind their version
(the ETag did not change) and locked them after the method's row, the opposite order of a
cart write, so a checkout or a choice of method racing an admin could deadlock (500).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product

ZONES = "/api/v1/admin/shipping-zones"


async def _row_version(engine: AsyncEngine, cart_id: str) -> tuple[str, int]:
    """The cart row's physical version (xmin: any write changes it) and its ``version``."""
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT xmin::text, version FROM cart WHERE id = :id"), {"id": cart_id}
            )
        ).one()
    return str(row[0]), int(row[1])


async def _shipped_cart(
    client: AsyncClient, admin: dict[str, str], method_id: int
) -> dict[str, Any]:
    product = await new_product(client, admin, stock=5, price=1000)
    cart = await cart_with(
        client, [(product["id"], 1)], email="g@example.com", shipping_address=address("DE")
    )
    chosen = await client.put(
        f"/api/v1/carts/{cart['id']}/shipping-method", json={"option_id": method_id}
    )
    assert chosen.status_code == 200, chosen.text
    result: dict[str, Any] = chosen.json()
    return result


async def test_deleting_a_zone_leaves_carts_untouched_and_checkout_asks_again(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    zone = await new_zone(client, admin_headers, ["DE"])
    cart = await _shipped_cart(client, admin_headers, zone["methods"][0]["id"])
    url = f"/api/v1/carts/{cart['id']}"
    before = await _row_version(admin_engine, cart["id"])
    etag = (await client.get(url)).headers["ETag"]

    deleted = await client.delete(f"{ZONES}/{zone['id']}", headers=admin_headers)
    assert deleted.status_code == 204, deleted.text
    assert await _row_version(admin_engine, cart["id"]) == before
    shown = await client.get(url)
    assert shown.headers["ETag"] == etag == f'"{before[1]}"'
    assert shown.json()["shipping_method"] is None
    assert (shown.json()["shipping_total"], shown.json()["total"]) == (0, 1000)
    refused = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert refused.status_code == 422 and "no shipping zone covers DE" in refused.text

    # A new zone for the country: the cart must choose one of its methods first.
    other = await new_zone(client, admin_headers, ["DE"], [{"name": "Post", "price": 300}])
    refused = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert refused.status_code == 422 and "shipping_method" in refused.text
    method = other["methods"][0]["id"]
    chosen = await client.put(f"{url}/shipping-method", json={"option_id": method})
    assert chosen.json()["shipping_method"]["id"] == method
    placed = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert placed.status_code == 201, placed.text
    assert placed.json()["shipping"] == {"method": "Post", "price": 300}
    assert placed.json()["total"] == 1300


async def test_dropping_a_method_leaves_carts_untouched(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    methods = [{"name": "Standard", "price": 500}, {"name": "Express", "price": 900}]
    zone = await new_zone(client, admin_headers, ["DE"], methods)
    standard, express = (m["id"] for m in zone["methods"])
    cart = await _shipped_cart(client, admin_headers, express)
    before = await _row_version(admin_engine, cart["id"])
    kept = [{"id": standard, "name": "Standard", "price": 500}]
    patched = await client.patch(
        f"{ZONES}/{zone['id']}", headers=admin_headers, json={"methods": kept}
    )
    assert patched.status_code == 200, patched.text
    assert await _row_version(admin_engine, cart["id"]) == before
    url = f"/api/v1/carts/{cart['id']}"
    assert (await client.get(url)).json()["shipping_method"] is None
    options = (await client.get(f"{url}/shipping-options")).json()
    assert [o["id"] for o in options] == [standard]
    refused = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert refused.status_code == 422 and "shipping_method" in refused.text


async def _waiters(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
    return int(count or 0)


async def _until(condition: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(500):  # a deadline, not a timing: the states come in any order
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the requests never reached the state the test sets up")


async def test_choosing_a_method_while_its_zone_goes_does_not_deadlock(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    """The interleaving that deadlocked: the choice holds the cart's lock and needs the
    method's key, the zone's delete holds the method and needed the cart.

    A transaction of the test holds the cart's lock so both requests line up behind it:
    the choice first (it waits for the cart), then the delete (before, its cascade waited
    for the cart too; now it has nothing to wait for and finishes).
    """
    methods = [{"name": "Standard", "price": 500}, {"name": "Express", "price": 900}]
    zone = await new_zone(client, admin_headers, ["DE"], methods)
    standard, express = (m["id"] for m in zone["methods"])
    cart = await _shipped_cart(client, admin_headers, standard)
    async with admin_engine.connect() as holder:
        await holder.execute(
            text("SELECT 1 FROM cart WHERE id = :id FOR UPDATE"), {"id": cart["id"]}
        )
        choose = asyncio.ensure_future(
            client.put(f"/api/v1/carts/{cart['id']}/shipping-method", json={"option_id": express})
        )

        async def one_waiter() -> bool:
            return await _waiters(admin_engine) >= 1

        await _until(one_waiter)
        delete = asyncio.ensure_future(
            client.delete(f"{ZONES}/{zone['id']}", headers=admin_headers)
        )

        async def delete_done_or_waiting() -> bool:
            return delete.done() or await _waiters(admin_engine) >= 2

        await _until(delete_done_or_waiting)
        await holder.rollback()
    chosen, deleted = await choose, await delete
    assert deleted.status_code == 204, deleted.text
    assert chosen.status_code in (200, 422), chosen.text
    shown = (await client.get(f"/api/v1/carts/{cart['id']}")).json()
    assert shown["shipping_method"] is None and shown["shipping_total"] == 0
