"""A code's terms changed while a checkout is under way: the take sees it, nothing is charged.

The admin's change is held uncommitted (the service's own update, in a transaction of the
test) while the checkout prices the code with the old terms; it commits once the checkout
waits for the code's row lock to take its use. Before: the take re-checked only
``is_active``, so the order carried the old discount, or a code expired meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.schemas.discount import DiscountUpdate
from ecommerce.services import discounts
from tests.integration.test_checkout_tax_discounts import apply_code, checkout, new_code, times_used
from tests.support.carts import cart_with
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product, stock_of


async def _waiting_for_a_lock(engine: AsyncEngine) -> None:
    """Until another backend of this database waits on a row lock (a deadline, not a timing)."""
    async with engine.connect() as conn:
        for _ in range(500):
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                )
            )
            if waiting:
                return
            await conn.rollback()
            await asyncio.sleep(0.02)
    raise AssertionError("the checkout never waited for the code's row lock")


async def _during_checkout(
    engine: AsyncEngine, discount_id: int, change: dict[str, Any], place: Awaitable[Response]
) -> Response:
    async with AsyncSession(engine) as session, session.begin():
        await discounts.update_discount(session, discount_id, DiscountUpdate(**change))
        answer = asyncio.ensure_future(place)
        await _waiting_for_a_lock(engine)
    return await answer


async def test_a_value_changed_after_pricing_is_409_before_any_charge(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="TENOFF", kind="fixed", value=100)
    cart = await cart_with(client, [(product["id"], 1)], email="g@example.com")
    assert (await apply_code(client, cart["id"], "TENOFF")).json()["total"] == 900

    refused = await _during_checkout(
        admin_engine, code["id"], {"value": 500}, checkout(client, cart["id"])
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["reason"] == "discount_changed"
    assert (await fake_gateway.ledger())["charges"] == []
    assert await stock_of(admin_engine, product["id"]) == 5
    assert await times_used(admin_engine, code["id"]) == 0
    # Read again, the cart shows the new terms, and checks out with them.
    shown = (await client.get(f"/api/v1/carts/{cart['id']}")).json()
    assert shown["total"] == 500
    placed = await checkout(client, cart["id"])
    assert placed.status_code == 201, placed.text
    assert placed.json()["discount_total"] == 500
    assert [c["amount"] for c in (await fake_gateway.ledger())["charges"]] == [500]


async def test_a_code_expired_after_pricing_is_refused_at_the_take(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="SOON", kind="fixed", value=100)
    body = {
        "items": [{"product_id": product["id"], "quantity": 1}],
        "payment_token": "tok_visa",
        "discount_code": "SOON",
    }
    ended = datetime.now(UTC) - timedelta(minutes=1)
    refused = await _during_checkout(
        admin_engine,
        code["id"],
        {"ends_at": ended},
        client.post("/api/v1/orders", headers=customer_headers, json=body),
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["reason"] == "expired"
    assert (await fake_gateway.ledger())["charges"] == []
    assert await stock_of(admin_engine, product["id"]) == 5
    assert await times_used(admin_engine, code["id"]) == 0


async def test_a_minimum_raised_above_the_subtotal_is_409(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="MIN", kind="fixed", value=100)
    cart = await cart_with(client, [(product["id"], 1)], email="g@example.com")
    await apply_code(client, cart["id"], "MIN")
    refused = await _during_checkout(
        admin_engine, code["id"], {"min_subtotal": 5000}, checkout(client, cart["id"])
    )
    assert refused.status_code == 409 and refused.json()["reason"] == "discount_changed"
    assert (await fake_gateway.ledger())["charges"] == []
