"""POST /orders with the optional cart fields: priced exactly as a cart checkout."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import new_customer, new_product, order_body, stock_of


async def test_a_shipped_direct_order_is_priced_like_a_cart(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    zone = await new_zone(
        client, admin_headers, ["DE"], [{"name": "DHL", "price": 644, "free_over": 100000}]
    )
    option = zone["methods"][0]["id"]
    a = await new_product(client, admin_headers, stock=5, price=2499)
    b = await new_product(client, admin_headers, stock=10, price=100)
    customer = await new_customer(client)
    body: dict[str, Any] = order_body((a["id"], 1), (b["id"], 3)) | {
        "email": "Gift@Example.com",
        "shipping_address": address("de"),
        "billing_address": address("FR", city="Paris"),
        "shipping_option_id": option,
    }
    response = await client.post("/api/v1/orders", headers=customer, json=body)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["subtotal"], order["shipping_total"], order["total"]) == (2799, 644, 3443)
    assert order["shipping"] == {"method": "DHL", "price": 644}
    assert order["email"] == "Gift@example.com"  # the domain is normalized by the validator
    assert order["shipping_address"]["country"] == "DE"
    assert order["billing_address"]["city"] == "Paris"
    ledger = await fake_gateway.ledger()
    assert [charge["amount"] for charge in ledger["charges"]] == [3443]

    # The same purchase through a cart costs the same.
    cart = await cart_with(
        client,
        [(a["id"], 1), (b["id"], 3)],
        customer,
        shipping_address=address("DE"),
    )
    cart = (
        await client.put(
            f"/api/v1/carts/{cart['id']}/shipping-method",
            headers=customer,
            json={"option_id": option},
        )
    ).json()
    assert (cart["subtotal"], cart["shipping_total"], cart["total"]) == (2799, 644, 3443)


async def test_a_direct_order_defaults_to_the_account_email(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=500)
    customer = await new_customer(client)
    me = (await client.get("/api/v1/users/me", headers=customer)).json()
    response = await client.post(
        "/api/v1/orders", headers=customer, json=order_body((product["id"], 2))
    )
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["email"] == me["email"]
    assert (order["subtotal"], order["shipping_total"], order["total"]) == (1000, 0, 1000)
    assert order["shipping"] is None and order["shipping_address"] is None


async def test_bad_shipping_of_a_direct_order_is_422_and_reserves_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    de = await new_zone(client, admin_headers, ["DE"])
    fr = await new_zone(client, admin_headers, ["FR"])
    product = await new_product(client, admin_headers, stock=5)
    customer = await new_customer(client)
    base = order_body((product["id"], 1))
    de_option, fr_option = de["methods"][0]["id"], fr["methods"][0]["id"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"shipping_option_id": de_option}, "shipping_address"),
        ({"shipping_address": address("DE")}, "shipping option"),
        ({"shipping_address": address("DE"), "shipping_option_id": fr_option}, "not available"),
        ({"shipping_address": address("JP"), "shipping_option_id": de_option}, "not available"),
        ({"shipping_address": address("JP")}, "no shipping zone covers JP"),
    ]
    for extra, message in cases:
        response = await client.post("/api/v1/orders", headers=customer, json=base | extra)
        assert response.status_code == 422, (extra, response.text)
        assert message in response.json()["detail"], (extra, response.text)
    invalid = [
        {"shipping_address": address("ZZ"), "shipping_option_id": de_option},
        {"email": "nope"},
        {"shipping_option_id": 0},
        {"discount_code": ""},
    ]
    for extra in invalid:
        response = await client.post("/api/v1/orders", headers=customer, json=base | extra)
        assert response.status_code == 422, (extra, response.text)
    assert await stock_of(admin_engine, product["id"]) == 5
    assert (await fake_gateway.ledger())["charges"] == []


async def test_a_direct_order_with_tax_and_a_discount_code(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    zone = await new_zone(client, admin_headers, ["US"], [{"name": "Ground", "price": 644}])
    rate = await client.put(
        "/api/v1/admin/tax-rates/US", headers=admin_headers, json={"rate_bps": 1075}
    )
    assert rate.status_code == 200, rate.text
    product = await new_product(client, admin_headers, stock=5, price=2499)
    customer = await new_customer(client)
    shipped = order_body((product["id"], 1)) | {
        "shipping_address": address("US", city="Austin", postal_code="78701"),
        "shipping_option_id": zone["methods"][0]["id"],
    }
    # The golden case: 2499 at 10.75 % with 644 shipping taxed: tax 269 + 69, total 3481.
    response = await client.post("/api/v1/orders", headers=customer, json=shipped)
    assert response.status_code == 201, response.text
    order = response.json()
    assert (order["subtotal"], order["shipping_total"], order["tax_total"]) == (2499, 644, 338)
    assert order["items"][0]["tax_amount"] == 269
    assert order["total"] == 3481
    assert [c["amount"] for c in (await fake_gateway.ledger())["charges"]] == [3481]

    code = await client.post(
        "/api/v1/admin/discounts",
        headers=admin_headers,
        json={"code": "TENOFF", "kind": "percent", "value": 1000, "usage_limit": 1},
    )
    assert code.status_code == 201, code.text
    discounted = await client.post(
        "/api/v1/orders", headers=customer, json=shipped | {"discount_code": "tenoff"}
    )
    assert discounted.status_code == 201, discounted.text
    order = discounted.json()
    assert (order["discount_code"], order["discount_total"]) == ("TENOFF", 250)
    assert order["total"] == order["subtotal"] - 250 + 644 + order["tax_total"]
    used_up = await client.post(
        "/api/v1/orders", headers=customer, json=shipped | {"discount_code": "TENOFF"}
    )
    assert used_up.status_code == 409, used_up.text
    unknown = await client.post(
        "/api/v1/orders", headers=customer, json=shipped | {"discount_code": "NOPE"}
    )
    assert unknown.status_code == 422
    assert await stock_of(admin_engine, product["id"]) == 3
