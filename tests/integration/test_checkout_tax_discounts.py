"""Tax and discount codes through real checkouts: carts, direct orders, the gateway's ledger."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Discount
from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, new_product, stock_of

RATES = "/api/v1/admin/tax-rates"
DISCOUNTS = "/api/v1/admin/discounts"


async def set_rate(client: AsyncClient, admin: dict[str, str], country: str, bps: int) -> None:
    response = await client.put(f"{RATES}/{country}", json={"rate_bps": bps}, headers=admin)
    assert response.status_code == 200, response.text


async def new_code(client: AsyncClient, admin: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await client.post(
        DISCOUNTS, json={"kind": "percent", "value": 1000} | body, headers=admin
    )
    assert response.status_code == 201, response.text
    code: dict[str, Any] = response.json()
    return code


async def times_used(engine: AsyncEngine, discount_id: int) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(select(Discount.times_used).where(Discount.id == discount_id))
    return int(value or 0)


async def apply_code(client: AsyncClient, cart_id: str, code: str, **kw: Any) -> Any:
    return await client.post(f"/api/v1/carts/{cart_id}/discount-code", json={"code": code}, **kw)


async def checkout(client: AsyncClient, cart_id: str, token: str = "tok_visa", **kw: Any) -> Any:
    return await client.post(
        f"/api/v1/carts/{cart_id}/checkout", json={"payment_token": token}, **kw
    )


async def shipped_cart(
    client: AsyncClient,
    admin: dict[str, str],
    lines: list[tuple[int, int]],
    *,
    country: str,
    shipping_price: int,
    email: str = "guest@example.com",
) -> dict[str, Any]:
    zone = await new_zone(client, admin, [country], [{"name": "Standard", "price": shipping_price}])
    cart = await cart_with(client, lines, email=email, shipping_address=address(country))
    chosen = await client.put(
        f"/api/v1/carts/{cart['id']}/shipping-method",
        json={"option_id": zone["methods"][0]["id"]},
    )
    assert chosen.status_code == 200, chosen.text
    result: dict[str, Any] = chosen.json()
    return result


async def test_golden_case_through_a_cart_checkout(
    client: AsyncClient,
    admin_headers: dict[str, str],
    fake_gateway: FakeGateway,
    admin_engine: AsyncEngine,
) -> None:
    await set_rate(client, admin_headers, "US", 1075)
    product = await new_product(client, admin_headers, stock=5, price=2499)
    cart = await shipped_cart(
        client, admin_headers, [(product["id"], 1)], country="US", shipping_price=644
    )
    assert cart["lines"][0]["tax_amount"] == 269
    assert (cart["subtotal"], cart["shipping_total"], cart["tax_total"]) == (2499, 644, 338)
    assert cart["total"] == 3481

    placed = await checkout(client, cart["id"])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["total"] == 3481
    assert order["tax_total"] == 338
    assert order["items"][0]["tax_amount"] == 269
    assert order["shipping"] == {"method": "Standard", "price": 644}
    ledger = await fake_gateway.ledger()
    assert [c["amount"] for c in ledger["charges"]] == [3481]
    await assert_money_matches_orders(admin_engine, ledger)

    # A later rate change never alters the order.
    await set_rate(client, admin_headers, "US", 2000)
    again = await client.get(f"/api/v1/carts/{cart['id']}/order")
    assert again.json()["tax_total"] == 338 and again.json()["total"] == 3481


async def test_discount_spreads_and_tax_follows_through_checkout(
    client: AsyncClient,
    admin_headers: dict[str, str],
    fake_gateway: FakeGateway,
) -> None:
    await set_rate(client, admin_headers, "DE", 1900)
    a = await new_product(client, admin_headers, stock=5, price=1000)
    b = await new_product(client, admin_headers, stock=5, price=1000)
    c = await new_product(client, admin_headers, stock=5, price=1000)
    await new_code(client, admin_headers, code="HUNDRED", kind="fixed", value=100)
    cart = await shipped_cart(
        client,
        admin_headers,
        [(a["id"], 1), (b["id"], 1), (c["id"], 1)],
        country="DE",
        shipping_price=500,
    )
    applied = await apply_code(client, cart["id"], "hundred")
    assert applied.status_code == 200, applied.text
    cart = applied.json()
    assert cart["discount_code"] == "HUNDRED"
    assert [line["discount_amount"] for line in cart["lines"]] == [34, 33, 33]
    # 966 * 19 % = 183.54, 967 * 19 % = 183.73: per line, half up; shipping 95.
    assert [line["tax_amount"] for line in cart["lines"]] == [184, 184, 184]
    assert cart["discount_total"] == 100 and cart["shipping_total"] == 500
    assert cart["tax_total"] == 184 * 3 + 95
    assert cart["total"] == 3000 - 100 + 500 + 647

    placed = await checkout(client, cart["id"])
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["discount_code"] == "HUNDRED"
    for field in ("subtotal", "discount_total", "shipping_total", "tax_total", "total"):
        assert order[field] == cart[field], field
    assert [i["discount_amount"] for i in order["items"]] == [34, 33, 33]
    ledger = await fake_gateway.ledger()
    assert [ch["amount"] for ch in ledger["charges"]] == [cart["total"]]


async def test_direct_order_with_a_code_prices_like_a_cart(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    fake_gateway: FakeGateway,
    admin_engine: AsyncEngine,
) -> None:
    await set_rate(client, admin_headers, "US", 1075)
    product = await new_product(client, admin_headers, stock=5, price=2499)
    zone = await new_zone(client, admin_headers, ["US"], [{"name": "Ground", "price": 644}])
    code = await new_code(client, admin_headers, code="TENOFF", kind="percent", value=1000)
    response = await client.post(
        "/api/v1/orders",
        headers=customer_headers,
        json={
            "items": [{"product_id": product["id"], "quantity": 2}],
            "payment_token": "tok_visa",
            "shipping_address": address("US"),
            "shipping_option_id": zone["methods"][0]["id"],
            "discount_code": "tenoff",
        },
    )
    assert response.status_code == 201, response.text
    order = response.json()
    # 4998 - 500 (10 %, 499.8 half up) = 4498; tax 483.535 -> 484; shipping tax 69.
    assert order["discount_total"] == 500
    assert order["tax_total"] == 484 + 69
    assert order["total"] == 4998 - 500 + 644 + 553
    assert order["discount_code"] == "TENOFF"
    ledger = await fake_gateway.ledger()
    assert [c["amount"] for c in ledger["charges"]] == [order["total"]]
    assert await times_used(admin_engine, code["id"]) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"is_active": False}, "inactive"),
        ({"ends_at": "2020-01-01T00:00:00Z", "starts_at": "2019-01-01T00:00:00Z"}, "expired"),
        ({"starts_at": "2999-01-01T00:00:00Z"}, "not_yet_valid"),
        ({"min_subtotal": 100_000}, "below_minimum"),
    ],
)
async def test_a_code_that_does_not_apply_is_422_saying_why(
    client: AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], reason: str
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    await new_code(client, admin_headers, code="NOPE", **body)
    cart = await cart_with(client, [(product["id"], 1)])
    response = await apply_code(client, cart["id"], "NOPE")
    assert response.status_code == 422, response.text
    assert response.json()["reason"] == reason
    unknown = await apply_code(client, cart["id"], "NOSUCHCODE")
    assert unknown.status_code == 422 and unknown.json()["reason"] == "unknown"
    current = await client.get(f"/api/v1/carts/{cart['id']}")
    assert current.json()["discount_code"] is None
    assert current.json()["version"] == cart["version"]


async def test_one_code_per_cart_replaced_and_removed(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=2000)
    await new_code(client, admin_headers, code="FIRST", kind="fixed", value=100)
    await new_code(client, admin_headers, code="SECOND", kind="percent", value=5000)
    cart = await cart_with(client, [(product["id"], 1)])
    first = await apply_code(client, cart["id"], "FIRST")
    assert first.json()["discount_total"] == 100
    second = await apply_code(client, cart["id"], "second")
    assert second.json()["discount_code"] == "SECOND"
    assert second.json()["discount_total"] == 1000
    assert second.json()["version"] > first.json()["version"]
    removed = await client.delete(f"/api/v1/carts/{cart['id']}/discount-code")
    assert removed.status_code == 200
    assert removed.json()["discount_code"] is None
    assert removed.json()["discount_total"] == 0 and removed.json()["total"] == 2000


async def test_used_up_code_is_422_when_applied(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=2000)
    await new_code(client, admin_headers, code="ONCE", usage_limit=1)
    first = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    assert (await apply_code(client, first["id"], "ONCE")).status_code == 200
    assert (await checkout(client, first["id"])).status_code == 201
    second = await cart_with(client, [(product["id"], 1)], email="b@example.com")
    refused = await apply_code(client, second["id"], "ONCE")
    assert refused.status_code == 422 and refused.json()["reason"] == "used_up"


async def test_twenty_racing_checkouts_of_a_single_use_code(
    client: AsyncClient,
    admin_headers: dict[str, str],
    fake_gateway: FakeGateway,
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=100, price=1000)
    code = await new_code(
        client, admin_headers, code="LUCKY", kind="fixed", value=400, usage_limit=1
    )
    carts = []
    for n in range(20):
        cart = await cart_with(client, [(product["id"], 1)], email=f"racer{n}@example.com")
        applied = await apply_code(client, cart["id"], "LUCKY")
        assert applied.status_code == 200, applied.text
        carts.append(applied.json())
    answers = await asyncio.gather(*(checkout(client, c["id"]) for c in carts))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 19, [a.text for a in answers if a.status_code != 409]
    winner = next(a.json() for a in answers if a.status_code == 201)
    assert winner["discount_code"] == "LUCKY" and winner["total"] == 600
    assert await times_used(admin_engine, code["id"]) == 1
    ledger = await fake_gateway.ledger()
    assert [c["amount"] for c in ledger["charges"]] == [600]  # nothing charged for the 409s
    assert await stock_of(admin_engine, product["id"]) == 99  # nothing reserved either
    await assert_money_matches_orders(admin_engine, ledger)
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["reason"] == "used_up"


async def test_a_declined_card_gives_the_use_back(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="SOLO", usage_limit=1)
    cart = await cart_with(client, [(product["id"], 1)], email="d@example.com")
    await apply_code(client, cart["id"], "SOLO")
    declined = await checkout(client, cart["id"], token="tok_chargeDeclined")
    assert declined.status_code == 402, declined.text
    assert await times_used(admin_engine, code["id"]) == 0
    other = await cart_with(client, [(product["id"], 1)], email="e@example.com")
    assert (await apply_code(client, other["id"], "SOLO")).status_code == 200
    placed = await checkout(client, other["id"])
    assert placed.status_code == 201 and placed.json()["discount_total"] == 100
    assert await times_used(admin_engine, code["id"]) == 1


async def test_a_cancel_gives_the_use_back(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="BACK", usage_limit=1)
    cart = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    applied = await apply_code(client, cart["id"], "BACK", headers=customer_headers)
    assert applied.status_code == 200, applied.text
    placed = await checkout(client, cart["id"], headers=customer_headers)
    assert placed.status_code == 201, placed.text
    assert await times_used(admin_engine, code["id"]) == 1
    order_id = placed.json()["id"]
    cancelled = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=customer_headers)
    assert cancelled.status_code == 200, cancelled.text
    assert await times_used(admin_engine, code["id"]) == 0
    # The cancelled order keeps its snapshot.
    assert cancelled.json()["discount_code"] == "BACK"
    assert cancelled.json()["discount_total"] == 100
    # A second cancel is refused and gives nothing back twice.
    again = await client.post(f"/api/v1/orders/{order_id}/cancel", headers=customer_headers)
    assert again.status_code == 409
    assert await times_used(admin_engine, code["id"]) == 0


async def test_per_customer_limit_over_http(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    await new_code(client, admin_headers, code="ONEEACH", per_customer_limit=1)
    first = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    assert (
        await apply_code(client, first["id"], "ONEEACH", headers=customer_headers)
    ).status_code == 200
    second = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    assert (
        await apply_code(client, second["id"], "ONEEACH", headers=customer_headers)
    ).status_code == 200
    assert (await checkout(client, first["id"], headers=customer_headers)).status_code == 201
    # Applied before the first order, the code is refused at the second checkout (409) ...
    refused = await checkout(client, second["id"], headers=customer_headers)
    assert refused.status_code == 409 and refused.json()["reason"] == "used_up"
    # ... and can no longer be applied by this customer (422), but by someone else.
    third = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    again = await apply_code(client, third["id"], "oneeach", headers=customer_headers)
    assert again.status_code == 422 and again.json()["reason"] == "used_up"
    guest = await cart_with(client, [(product["id"], 1)], email="someone.else@example.com")
    assert (await apply_code(client, guest["id"], "ONEEACH")).status_code == 200


async def test_direct_orders_take_and_give_back_uses(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="DIRECT", per_customer_limit=1)

    def body(token: str = "tok_visa", code: str = "direct") -> dict[str, Any]:
        return {
            "items": [{"product_id": product["id"], "quantity": 1}],
            "payment_token": token,
            "discount_code": code,
        }

    declined = await client.post(
        "/api/v1/orders", headers=customer_headers, json=body("tok_chargeDeclined")
    )
    assert declined.status_code == 402, declined.text
    assert await times_used(admin_engine, code["id"]) == 0
    placed = await client.post("/api/v1/orders", headers=customer_headers, json=body())
    assert placed.status_code == 201, placed.text
    assert placed.json()["discount_total"] == 100
    assert await times_used(admin_engine, code["id"]) == 1
    # Once per customer: the second order is refused before any charge.
    again = await client.post("/api/v1/orders", headers=customer_headers, json=body())
    assert again.status_code == 409 and again.json()["reason"] == "used_up"
    unknown = await client.post("/api/v1/orders", headers=customer_headers, json=body(code="NO"))
    assert unknown.status_code == 422 and unknown.json()["reason"] == "unknown"
    charges = (await fake_gateway.ledger())["charges"]
    assert [c["amount"] for c in charges] == [900]
    assert await stock_of(admin_engine, product["id"]) == 4
