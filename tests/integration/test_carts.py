"""Carts over HTTP against PostgreSQL: ownership, lines, versions, limits, concurrency."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.carts import add_line, address, cart_with, new_cart
from tests.support.shop import new_customer, new_product


async def test_guest_cart_starts_empty_and_open(client: AsyncClient) -> None:
    response = await client.post("/api/v1/carts")
    assert response.status_code == 201, response.text
    cart = response.json()
    assert len(cart["id"]) >= 22  # 192 random bits
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/api/v1/carts/{cart['id']}"
    assert cart["status"] == "open"
    assert cart["version"] == 1
    assert cart["lines"] == []
    assert cart["currency"] == "USD"
    assert (cart["subtotal"], cart["shipping_total"], cart["total"]) == (0, 0, 0)
    assert (cart["discount_total"], cart["tax_total"], cart["discount_code"]) == (0, 0, None)
    assert cart["email"] is None and cart["shipping_method"] is None
    assert cart["order_id"] is None
    assert cart["expires_at"] > cart["updated_at"]
    again = await client.get(f"/api/v1/carts/{cart['id']}")
    assert again.status_code == 200
    assert again.json() == cart
    # Two carts never share an id.
    assert (await new_cart(client))["id"] != cart["id"]


async def test_lines_add_up_and_show_current_prices(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    mug = await new_product(client, admin_headers, stock=10, price=1250)
    tee = await new_product(client, admin_headers, stock=10, price=1999)
    cart = await new_cart(client)
    first = await add_line(client, cart["id"], mug["id"], 2)
    assert first.status_code == 200, first.text
    assert first.headers["ETag"] == '"2"'
    await add_line(client, cart["id"], tee["id"], 1)
    response = await add_line(client, cart["id"], mug["id"], 1)  # adds to the mug's line
    cart = response.json()
    assert cart["version"] == 4
    assert [(line["product_id"], line["quantity"]) for line in cart["lines"]] == [
        (mug["id"], 3),
        (tee["id"], 1),
    ]
    line = cart["lines"][0]
    assert (line["sku"], line["name"], line["unit_price"]) == (mug["sku"], mug["name"], 1250)
    assert (line["line_total"], line["discount_amount"], line["tax_amount"]) == (3750, 0, 0)
    assert cart["subtotal"] == cart["total"] == 3750 + 1999

    # A price change shows at once: a cart always has current prices.
    patched = await client.patch(
        f"/api/v1/products/{mug['id']}", headers=admin_headers, json={"price": 1000}
    )
    assert patched.status_code == 200
    cart = (await client.get(f"/api/v1/carts/{cart['id']}")).json()
    assert cart["subtotal"] == 3000 + 1999
    assert cart["version"] == 4  # reading changes nothing

    tee_line = cart["lines"][1]["id"]
    changed = await client.patch(
        f"/api/v1/carts/{cart['id']}/lines/{tee_line}", json={"quantity": 4}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["lines"][1]["quantity"] == 4
    removed = await client.delete(f"/api/v1/carts/{cart['id']}/lines/{tee_line}")
    assert removed.status_code == 200
    assert [line["product_id"] for line in removed.json()["lines"]] == [mug["id"]]
    assert removed.json()["version"] == 6
    gone = await client.delete(f"/api/v1/carts/{cart['id']}/lines/{tee_line}")
    assert gone.status_code == 404
    assert "line" in gone.json()["detail"].lower()


async def test_account_cart_is_only_for_its_owner_and_admins(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    other_customer_headers: dict[str, str],
) -> None:
    product = await new_product(client, admin_headers, stock=5)
    cart = await new_cart(client, customer_headers)
    url = f"/api/v1/carts/{cart['id']}"
    assert (await client.get(url, headers=customer_headers)).status_code == 200
    assert (await client.get(url, headers=admin_headers)).status_code == 200
    for stranger in ({}, other_customer_headers):
        assert (await client.get(url, headers=stranger)).status_code == 404
        assert (await add_line(client, cart["id"], product["id"], 1, stranger)).status_code == 404
        patched = await client.patch(url, headers=stranger, json={"email": "x@example.com"})
        assert patched.status_code == 404
        assert (await client.get(f"{url}/shipping-options", headers=stranger)).status_code == 404
    # Nothing a stranger tried changed the cart.
    assert (await client.get(url, headers=customer_headers)).json()["version"] == 1
    # A guest cart is reachable by anyone who holds its id, signed in or not.
    guest = await new_cart(client)
    shown = await client.get(f"/api/v1/carts/{guest['id']}", headers=other_customer_headers)
    assert shown.status_code == 200


async def test_unknown_carts_are_404(client: AsyncClient) -> None:
    for cart_id in (secrets.token_urlsafe(24), "nope", "x" * 300, "%00", "a.b"):
        response = await client.get(f"/api/v1/carts/{cart_id}")
        assert response.status_code == 404, (cart_id, response.text)
        assert response.json()["detail"] == "Cart not found"
    response = await client.post(
        f"/api/v1/carts/{secrets.token_urlsafe(24)}/lines", json={"product_id": 1, "quantity": 1}
    )
    assert response.status_code == 404


async def test_stale_if_match_is_412_and_changes_nothing(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    a = await new_product(client, admin_headers, stock=5)
    b = await new_product(client, admin_headers, stock=5)
    cart = await cart_with(client, [(a["id"], 1)])
    assert cart["version"] == 2
    url = f"/api/v1/carts/{cart['id']}"
    stale = {"If-Match": '"1"'}
    writes = [
        client.post(f"{url}/lines", headers=stale, json={"product_id": b["id"], "quantity": 1}),
        client.patch(f"{url}/lines/{cart['lines'][0]['id']}", headers=stale, json={"quantity": 3}),
        client.delete(f"{url}/lines/{cart['lines'][0]['id']}", headers=stale),
        client.patch(url, headers=stale, json={"email": "late@example.com"}),
        client.put(f"{url}/shipping-method", headers=stale, json={"option_id": 1}),
    ]
    for write in writes:
        response = await write
        assert response.status_code == 412, response.text
        assert "version 2" in response.json()["detail"]
    assert (await client.get(url)).json() == cart
    # The current version, strong, weak or bare, or "*", passes.
    for tag in ('"2"', 'W/"3"', "4", "*", '"1", "6"'):
        response = await client.patch(url, headers={"If-Match": tag}, json={"email": "a@b.co"})
        assert response.status_code == 200, (tag, response.text)
    assert (await client.get(url)).json()["version"] == 7
    garbage = await client.patch(url, headers={"If-Match": "abc"}, json={"email": "c@d.co"})
    assert garbage.status_code == 412


async def test_concurrent_adds_lose_nothing(
    client: AsyncClient, admin_engine: AsyncEngine, admin_headers: dict[str, str]
) -> None:
    products = await _insert_products(admin_engine, 50, stock=5)
    cart = await new_cart(client)

    async def add(product_id: int) -> int:
        return (await add_line(client, cart["id"], product_id, 1)).status_code

    codes = await asyncio.gather(*(add(product_id) for product_id in products))
    assert codes == [200] * 50
    final = (await client.get(f"/api/v1/carts/{cart['id']}")).json()
    assert sorted(line["product_id"] for line in final["lines"]) == sorted(products)
    assert final["version"] == 1 + 50


async def test_concurrent_adds_of_one_product_add_up(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    product = await new_product(client, admin_headers, stock=1000)
    cart = await new_cart(client)
    codes = await asyncio.gather(
        *(add_line(client, cart["id"], product["id"], 2) for _ in range(20))
    )
    assert [response.status_code for response in codes] == [200] * 20
    final = (await client.get(f"/api/v1/carts/{cart['id']}")).json()
    assert [line["quantity"] for line in final["lines"]] == [40]
    assert final["version"] == 21


async def test_more_than_the_stock_is_409(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    product = await new_product(client, admin_headers, stock=3)
    cart = await cart_with(client, [(product["id"], 2)])
    response = await add_line(client, cart["id"], product["id"], 2)
    assert response.status_code == 409, response.text
    assert response.json()["available"] == 3
    line_id = cart["lines"][0]["id"]
    patched = await client.patch(
        f"/api/v1/carts/{cart['id']}/lines/{line_id}", json={"quantity": 4}
    )
    assert patched.status_code == 409
    # A cart reserves nothing: the stock is still all there.
    product_now = (await client.get(f"/api/v1/products/{product['id']}")).json()
    assert product_now["stock"] == 3
    assert (await client.get(f"/api/v1/carts/{cart['id']}")).json()["version"] == 2


async def test_bad_lines_are_422(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    product = await new_product(client, admin_headers, stock=2000)
    hidden = await new_product(client, admin_headers, stock=5)
    await client.patch(
        f"/api/v1/products/{hidden['id']}", headers=admin_headers, json={"is_active": False}
    )
    cart = await new_cart(client)
    url = f"/api/v1/carts/{cart['id']}/lines"
    bodies: list[Any] = [
        {"product_id": 999999, "quantity": 1},
        {"product_id": hidden["id"], "quantity": 1},
        {"product_id": product["id"], "quantity": 0},
        {"product_id": product["id"], "quantity": 1001},
        {"product_id": product["id"], "quantity": "2"},
        {"product_id": product["id"], "quantity": 1.5},
        {"product_id": 2**63, "quantity": 1},
        {"product_id": product["id"]},
        {"product_id": product["id"], "quantity": 1, "price": 1},
    ]
    for body in bodies:
        response = await client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["detail"]
    assert (await client.post(url, json={"product_id": product["id"], "quantity": 600})).is_success
    over = await client.post(url, json={"product_id": product["id"], "quantity": 401})
    assert over.status_code == 422
    assert "1000" in over.json()["detail"]
    assert (await client.get(f"/api/v1/carts/{cart['id']}")).json()["version"] == 2


async def test_at_most_100_lines(client: AsyncClient, admin_engine: AsyncEngine) -> None:
    products = await _insert_products(admin_engine, 101, stock=1)
    cart = await new_cart(client)
    for product_id in products[:100]:
        assert (await add_line(client, cart["id"], product_id)).status_code == 200
    response = await add_line(client, cart["id"], products[100])
    assert response.status_code == 422
    assert "100 lines" in response.json()["detail"]
    # An existing line can still grow.
    assert (await add_line(client, cart["id"], products[0])).status_code == 409  # stock 1


async def test_email_and_addresses(client: AsyncClient, customer_headers: dict[str, str]) -> None:
    cart = await new_cart(client)
    url = f"/api/v1/carts/{cart['id']}"
    response = await client.patch(
        url,
        json={
            "email": "guest@example.com",
            "shipping_address": address("de", line2="Hinterhaus", phone="+49 30 1234567"),
            "billing_address": address("FR", city="Paris"),
        },
    )
    assert response.status_code == 200, response.text
    cart = response.json()
    assert cart["email"] == "guest@example.com"
    assert cart["shipping_address"]["country"] == "DE"
    assert cart["shipping_address"]["line2"] == "Hinterhaus"
    assert cart["billing_address"]["city"] == "Paris"
    # An empty PATCH changes nothing, not even the version.
    unchanged = await client.patch(url, json={})
    assert unchanged.status_code == 200
    assert unchanged.json()["version"] == cart["version"]
    # Fields left out keep their value; null clears one.
    cleared = (await client.patch(url, json={"billing_address": None})).json()
    assert cleared["billing_address"] is None
    assert cleared["email"] == "guest@example.com"
    assert cleared["shipping_address"]["country"] == "DE"


async def test_invalid_address_fields_are_422_naming_the_field(client: AsyncClient) -> None:
    cart = await new_cart(client)
    url = f"/api/v1/carts/{cart['id']}"
    cases: list[tuple[dict[str, Any], str]] = [
        (address("XX"), "country"),
        (address("DEU"), "country"),
        (address("1A"), "country"),
        (address(name="Erika\x00"), "name"),
        (address(line1="Heide\nstrasse"), "line1"),
        (address(city="x" * 101), "city"),
        (address(postal_code=""), "postal_code"),
        (address(line2="\x1b[31m"), "line2"),
        (address(phone="call me"), "phone"),
        ({k: v for k, v in address().items() if k != "city"}, "city"),
        (address(extra="x"), "extra"),
    ]
    for value, field in cases:
        response = await client.patch(url, json={"shipping_address": value})
        assert response.status_code == 422, (value, response.text)
        locations = [error["loc"] for error in response.json()["detail"]]
        assert ["body", "shipping_address", field] in locations, (field, locations)
    bad_email = await client.patch(url, json={"email": "not-an-email"})
    assert bad_email.status_code == 422
    assert (await client.get(url)).json()["version"] == 1


async def test_order_of_an_open_cart_is_404(client: AsyncClient) -> None:
    cart = await new_cart(client)
    response = await client.get(f"/api/v1/carts/{cart['id']}/order")
    assert response.status_code == 404
    assert "not been checked out" in response.json()["detail"]


async def test_signed_in_user_gets_own_cart_not_a_guest_one(client: AsyncClient) -> None:
    customer = await new_customer(client)
    cart = await new_cart(client, customer)
    assert (await client.get(f"/api/v1/carts/{cart['id']}")).status_code == 404
    bad_token = await client.post("/api/v1/carts", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401


async def _insert_products(engine: AsyncEngine, count: int, *, stock: int) -> list[int]:
    """Many products at once, straight into the database (the API would take a while)."""
    prefix = secrets.token_hex(4)
    async with engine.begin() as conn:
        rows = await conn.execute(
            text(
                "INSERT INTO product (sku, name, price, currency, stock) "
                "SELECT :prefix || '-' || n, 'Bulk ' || n, 100 + n, 'USD', :stock "
                "FROM generate_series(1, :count) AS n RETURNING id"
            ),
            {"prefix": prefix, "stock": stock, "count": count},
        )
        return [row[0] for row in rows]
