"""Checking a cart out over HTTP: the one checkout path, its answers and its snapshot."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.carts import address, cart_with, new_cart, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, new_customer, new_product, stock_of

PAY = {"payment_token": "tok_visa"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"reconcile_interval": 0.5})


async def shipped_cart(
    client: AsyncClient,
    admin: dict[str, str],
    lines: list[tuple[int, int]],
    headers: dict[str, str] | None = None,
    *,
    country: str = "DE",
    email: str | None = "guest@example.com",
) -> dict[str, Any]:
    """A cart with lines, an e-mail and a shipping address in a zone, its method chosen."""
    patch: dict[str, Any] = {"shipping_address": address(country)}
    if email is not None:
        patch["email"] = email
    cart = await cart_with(client, lines, headers, **patch)
    options = (
        await client.get(f"/api/v1/carts/{cart['id']}/shipping-options", headers=headers or {})
    ).json()
    chosen = await client.put(
        f"/api/v1/carts/{cart['id']}/shipping-method",
        headers=headers or {},
        json={"option_id": options[0]["id"]},
    )
    assert chosen.status_code == 200, chosen.text
    result: dict[str, Any] = chosen.json()
    return result


async def test_guest_checkout_places_a_paid_order_with_its_snapshot(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    await new_zone(client, admin_headers, ["DE", "AT"], [{"name": "DHL", "price": 644}])
    mug = await new_product(client, admin_headers, stock=5, price=1250)
    tee = await new_product(client, admin_headers, stock=5, price=1999)
    cart = await shipped_cart(client, admin_headers, [(mug["id"], 2), (tee["id"], 1)])
    assert cart["total"] == 2 * 1250 + 1999 + 644
    url = f"/api/v1/carts/{cart['id']}"

    response = await client.post(f"{url}/checkout", json={**PAY, "expected_total": cart["total"]})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "paid"
    assert order["payment"]["status"] == "succeeded"
    assert (order["subtotal"], order["shipping_total"], order["total"]) == (4499, 644, 5143)
    assert (order["discount_total"], order["tax_total"], order["discount_code"]) == (0, 0, None)
    assert order["email"] == "guest@example.com"
    assert order["shipping"] == {"method": "DHL", "price": 644}
    assert order["shipping_address"]["country"] == "DE"
    assert order["billing_address"] is None
    assert [(i["product_id"], i["quantity"], i["line_total"]) for i in order["items"]] == [
        (mug["id"], 2, 2500),
        (tee["id"], 1, 1999),
    ]
    assert all(i["discount_amount"] == 0 and i["tax_amount"] == 0 for i in order["items"])
    ledger = await fake_gateway.ledger()
    assert [charge["amount"] for charge in ledger["charges"]] == [5143]
    await assert_money_matches_orders(admin_engine, ledger)
    assert await stock_of(admin_engine, mug["id"]) == 3

    cart = (await client.get(url)).json()
    assert cart["status"] == "completed"
    assert cart["order_id"] == order["id"]
    # The guest reaches the order through the cart.
    assert (await client.get(f"{url}/order")).json() == order
    # A completed cart refuses every write, checkout included.
    writes = [
        client.post(f"{url}/lines", json={"product_id": mug["id"], "quantity": 1}),
        client.patch(f"{url}/lines/{cart['lines'][0]['id']}", json={"quantity": 1}),
        client.delete(f"{url}/lines/{cart['lines'][0]['id']}"),
        client.patch(url, json={"email": "late@example.com"}),
        client.put(f"{url}/shipping-method", json={"option_id": 1}),
        client.post(f"{url}/checkout", json=PAY),
    ]
    for write in writes:
        refused = await write
        assert refused.status_code == 409, refused.text
        assert refused.json()["order_id"] == order["id"]
    assert len((await fake_gateway.ledger())["charges"]) == 1

    # The order is a snapshot: later catalog and zone changes do not touch it.
    await client.patch(f"/api/v1/products/{mug['id']}", headers=admin_headers, json={"price": 1})
    zones = (await client.get("/api/v1/admin/shipping-zones", headers=admin_headers)).json()
    await client.delete(
        f"/api/v1/admin/shipping-zones/{zones['items'][0]['id']}", headers=admin_headers
    )
    again = (await client.get(f"{url}/order")).json()
    assert again == order


async def test_account_cart_checkout_uses_the_account_email(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    customer = await new_customer(client)
    me = (await client.get("/api/v1/users/me", headers=customer)).json()
    product = await new_product(client, admin_headers, stock=5, price=700)
    # No shipping address: not shipped (pick-up, digital goods), no shipping cost.
    cart = await cart_with(client, [(product["id"], 3)], customer)
    response = await client.post(f"/api/v1/carts/{cart['id']}/checkout", headers=customer, json=PAY)
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["email"] == me["email"]
    assert order["shipping"] is None and order["shipping_address"] is None
    assert (order["subtotal"], order["shipping_total"], order["total"]) == (2100, 0, 2100)
    mine = (await client.get("/api/v1/orders", headers=customer)).json()["items"]
    assert [o["id"] for o in mine] == [order["id"]]
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=customer)).json() == order
    # Someone else cannot check out, or see, this account's cart.
    other = await new_customer(client)
    assert (await client.get(f"/api/v1/carts/{cart['id']}/order", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/carts/{cart['id']}/order")).status_code == 404


async def test_checkout_refusals_reserve_and_charge_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
    customer_headers: dict[str, str],
) -> None:
    zone = await new_zone(client, admin_headers, ["DE"])
    product = await new_product(client, admin_headers, stock=5, price=1000)

    async def checkout(cart: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        return await client.post(
            f"/api/v1/carts/{cart['id']}/checkout", headers=headers or {}, json=PAY
        )

    empty = await checkout(await new_cart(client, customer_headers), customer_headers)
    assert empty.status_code == 422
    assert "empty" in empty.json()["detail"]
    no_email = await checkout(await cart_with(client, [(product["id"], 1)]))
    assert no_email.status_code == 422
    assert "e-mail" in no_email.json()["detail"]
    no_method = await checkout(
        await cart_with(
            client, [(product["id"], 1)], email="a@example.com", shipping_address=address("DE")
        )
    )
    assert no_method.status_code == 422
    assert "shipping method" in no_method.json()["detail"]
    nowhere = await checkout(
        await cart_with(
            client, [(product["id"], 1)], email="a@example.com", shipping_address=address("JP")
        )
    )
    assert nowhere.status_code == 422
    assert "JP" in nowhere.json()["detail"]
    # A method chosen, then the zone stops covering the country: no method any more.
    cart = await shipped_cart(client, admin_headers, [(product["id"], 1)])
    await client.patch(
        f"/api/v1/admin/shipping-zones/{zone['id']}",
        headers=admin_headers,
        json={"countries": ["FR"]},
    )
    assert (await checkout(cart)).status_code == 422
    # A product withdrawn from sale after it was put in the cart.
    hidden = await new_product(client, admin_headers, stock=5)
    cart = await cart_with(client, [(hidden["id"], 1)], email="a@example.com")
    await client.patch(
        f"/api/v1/products/{hidden['id']}", headers=admin_headers, json={"is_active": False}
    )
    withdrawn = await checkout(cart)
    assert withdrawn.status_code == 422
    assert str(hidden["id"]) in withdrawn.json()["detail"]
    bad_token = await client.post(
        f"/api/v1/carts/{cart['id']}/checkout", json={"payment_token": "visa"}
    )
    assert bad_token.status_code == 422

    assert (await fake_gateway.ledger())["charges"] == []
    assert await stock_of(admin_engine, product["id"]) == 5
    async with admin_engine.connect() as conn:
        from sqlalchemy import text

        assert await conn.scalar(text('SELECT count(*) FROM "order"')) == 0


async def test_expected_total_guards_against_price_changes(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    cart = await cart_with(client, [(product["id"], 2)], email="a@example.com")
    seen = cart["total"]
    await client.patch(
        f"/api/v1/products/{product['id']}", headers=admin_headers, json={"price": 1100}
    )
    url = f"/api/v1/carts/{cart['id']}/checkout"
    response = await client.post(url, json={**PAY, "expected_total": seen})
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["detail"] == "price_changed"
    assert (body["expected_total"], body["total"]) == (2000, 2200)
    assert "2200" in body["message"]
    assert await stock_of(admin_engine, product["id"]) == 5
    assert (await fake_gateway.ledger())["charges"] == []
    assert (await client.get(f"/api/v1/carts/{cart['id']}")).json()["status"] == "open"
    placed = await client.post(url, json={**PAY, "expected_total": 2200})
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == 2200


async def test_a_declined_card_leaves_the_cart_open(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=2, price=1000)
    cart = await cart_with(client, [(product["id"], 2)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}"
    declined = await client.post(f"{url}/checkout", json={"payment_token": "tok_chargeDeclined"})
    assert declined.status_code == 402, declined.text
    failed_order = declined.json()["order_id"]
    assert await stock_of(admin_engine, product["id"]) == 2
    reopened = (await client.get(url)).json()
    assert reopened["status"] == "open" and reopened["order_id"] is None
    assert (await client.get(f"{url}/order")).status_code == 404
    # Still a working cart: it can change and be checked out with another card.
    assert (await client.patch(url, json={"email": "b@example.com"})).status_code == 200
    paid = await client.post(f"{url}/checkout", json=PAY)
    assert paid.status_code == 201, paid.text
    assert paid.json()["id"] != failed_order
    assert paid.json()["email"] == "b@example.com"
    assert await stock_of(admin_engine, product["id"]) == 0
    await assert_money_matches_orders(admin_engine, await fake_gateway.ledger())


async def test_a_guest_cart_checked_out_after_signing_in_is_the_customers(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=800)
    cart = await cart_with(client, [(product["id"], 1)])  # built before signing in
    customer = await new_customer(client)
    me = (await client.get("/api/v1/users/me", headers=customer)).json()
    response = await client.post(f"/api/v1/carts/{cart['id']}/checkout", headers=customer, json=PAY)
    assert response.status_code == 201, response.text
    assert response.json()["email"] == me["email"]
    mine = (await client.get("/api/v1/orders", headers=customer)).json()["items"]
    assert [order["id"] for order in mine] == [response.json()["id"]]


async def test_checkout_honours_if_match(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=800)
    cart = await cart_with(client, [(product["id"], 1)], email="a@example.com")
    url = f"/api/v1/carts/{cart['id']}/checkout"
    stale = await client.post(url, headers={"If-Match": '"1"'}, json=PAY)
    assert stale.status_code == 412, stale.text
    assert (await fake_gateway.ledger())["charges"] == []
    assert await stock_of(admin_engine, product["id"]) == 5
    current = {"If-Match": f'"{cart["version"]}"'}
    assert (await client.post(url, headers=current, json=PAY)).status_code == 201
