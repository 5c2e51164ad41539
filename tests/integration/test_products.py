"""The catalog over HTTP: who may write, what is visible, stock under concurrency."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.support.factories import new_product

PRODUCTS = "/api/v1/products"
Headers = dict[str, str]


def product_body(sku: str = "TEE-BLK-M", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": sku, "name": "Black T-shirt", "price": 1999, "stock": 10}
    body.update(overrides)
    return body


async def create(client: AsyncClient, headers: Headers, **overrides: Any) -> dict[str, Any]:
    return await new_product(client, headers, **product_body(**overrides))


async def test_admin_creates_a_product(client: AsyncClient, admin_headers: Headers) -> None:
    response = await client.post(
        PRODUCTS,
        json={"sku": "MUG-01", "name": " Enamel mug ", "price": 1250, "description": "Blue"},
        headers=admin_headers,
    )
    assert response.status_code == 201
    product = response.json()
    assert set(product) == {
        "id", "sku", "name", "description", "price", "currency", "stock", "is_active",
        "created_at", "updated_at",
    }  # fmt: skip
    assert product["name"] == "Enamel mug"
    assert product["currency"] == "USD"  # the store's currency
    assert product["stock"] == 0
    assert product["is_active"] is True
    fetched = await client.get(f"{PRODUCTS}/{product['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == product


async def test_duplicate_sku_is_409(client: AsyncClient, admin_headers: Headers) -> None:
    await create(client, admin_headers, sku="DUP-1")
    response = await client.post(PRODUCTS, json=product_body("DUP-1"), headers=admin_headers)
    assert response.status_code == 409
    assert "DUP-1" in response.json()["detail"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"price": -1},
        {"price": 19.99},
        {"price": 19.0},
        {"price": "1999"},
        {"stock": -1},
        {"currency": "usd"},
        {"currency": "EUR"},  # the store sells in USD
        {"sku": ""},
        {"sku": "has space"},
        {"name": ""},
        {"is_active": False},  # not a create field
        {"id": 7},
    ],
)
async def test_create_rejects_invalid_input(
    client: AsyncClient, admin_headers: Headers, overrides: dict[str, Any]
) -> None:
    response = await client.post(PRODUCTS, json=product_body(**overrides), headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_missing_product_is_404(client: AsyncClient, admin_headers: Headers) -> None:
    assert (await client.get(f"{PRODUCTS}/12345")).status_code == 404
    assert (await client.get(f"{PRODUCTS}/12345", headers=admin_headers)).status_code == 404
    patch = await client.patch(f"{PRODUCTS}/12345", json={"price": 1}, headers=admin_headers)
    assert patch.status_code == 404
    stock = await client.post(f"{PRODUCTS}/12345/stock", json={"delta": 1}, headers=admin_headers)
    assert stock.status_code == 404
    assert stock.json() == {"detail": "Product not found"}


@pytest.mark.parametrize("bad_id", ["0", "-3", "abc", str(2**63)])
async def test_invalid_product_id_is_422(client: AsyncClient, bad_id: str) -> None:
    assert (await client.get(f"{PRODUCTS}/{bad_id}")).status_code == 422


async def test_every_write_needs_an_admin(
    client: AsyncClient, admin_headers: Headers, customer_headers: Headers
) -> None:
    product = await create(client, admin_headers)
    url = f"{PRODUCTS}/{product['id']}"
    writes: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", PRODUCTS, product_body("NEW-1")),
        ("PATCH", url, {"price": 1}),
        ("POST", f"{url}/stock", {"delta": 1}),
    ]
    for method, path, body in writes:
        anonymous = await client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        customer = await client.request(method, path, json=body, headers=customer_headers)
        assert customer.status_code == 403, (method, path)
        assert customer.json() == {"detail": "Admins only"}
    # Nothing changed; then the admin's writes succeed.
    assert (await client.get(url)).json() == product
    expected = {"POST": 201, "PATCH": 200}
    for method, path, body in writes:
        admin = await client.request(method, path, json=body, headers=admin_headers)
        assert admin.status_code == (200 if path.endswith("/stock") else expected[method])


async def test_patch_changes_fields_and_updated_at(
    client: AsyncClient, admin_headers: Headers
) -> None:
    product = await create(client, admin_headers, description="old")
    response = await client.patch(
        f"{PRODUCTS}/{product['id']}",
        json={"name": "Charcoal T-shirt", "price": 2499, "description": None},
        headers=admin_headers,
    )
    assert response.status_code == 200
    patched = response.json()
    assert patched["name"] == "Charcoal T-shirt"
    assert patched["price"] == 2499
    assert patched["description"] == ""
    assert patched["sku"] == product["sku"] and patched["stock"] == product["stock"]
    assert patched["updated_at"] > product["updated_at"]
    assert patched["created_at"] == product["created_at"]
    # An empty patch changes nothing.
    same = await client.patch(f"{PRODUCTS}/{product['id']}", json={}, headers=admin_headers)
    assert same.status_code == 200
    assert same.json() == patched


@pytest.mark.parametrize(
    "body",
    [{"stock": 5}, {"sku": "OTHER"}, {"currency": "USD"}, {"name": None}, {"price": -5},
     {"price": None}, {"is_active": None}, {"is_active": "yes"}],
)  # fmt: skip
async def test_patch_rejects_stock_and_unknown_or_null_fields(
    client: AsyncClient, admin_headers: Headers, body: dict[str, Any]
) -> None:
    product = await create(client, admin_headers)
    response = await client.patch(f"{PRODUCTS}/{product['id']}", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert (await client.get(f"{PRODUCTS}/{product['id']}")).json() == product


async def test_inactive_products_are_hidden_from_everyone_but_admins(
    client: AsyncClient, admin_headers: Headers, customer_headers: Headers
) -> None:
    visible = await create(client, admin_headers, sku="ON-1")
    hidden = await create(client, admin_headers, sku="OFF-1")
    response = await client.patch(
        f"{PRODUCTS}/{hidden['id']}", json={"is_active": False}, headers=admin_headers
    )
    assert response.json()["is_active"] is False
    url = f"{PRODUCTS}/{hidden['id']}"
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url, headers=customer_headers)).status_code == 404
    assert (await client.get(url, headers=admin_headers)).status_code == 200

    def skus(response: Any) -> list[str]:
        return [p["sku"] for p in response.json()["items"]]

    assert skus(await client.get(PRODUCTS)) == ["ON-1"]
    assert skus(await client.get(PRODUCTS, headers=customer_headers)) == ["ON-1"]
    assert skus(await client.get(PRODUCTS, params={"is_active": "false"})) == []
    assert skus(await client.get(PRODUCTS, headers=admin_headers)) == ["ON-1", "OFF-1"]
    admin_inactive = await client.get(
        PRODUCTS, params={"is_active": "false"}, headers=admin_headers
    )
    assert skus(admin_inactive) == ["OFF-1"]
    assert visible["is_active"] is True


async def test_stock_moves_only_through_the_stock_route(
    client: AsyncClient, admin_headers: Headers
) -> None:
    product = await create(client, admin_headers, stock=5)
    url = f"{PRODUCTS}/{product['id']}/stock"
    added = await client.post(url, json={"delta": 7}, headers=admin_headers)
    assert added.status_code == 200
    assert added.json()["stock"] == 12
    assert added.json()["updated_at"] > product["updated_at"]
    removed = await client.post(url, json={"delta": -12}, headers=admin_headers)
    assert removed.json()["stock"] == 0
    below = await client.post(url, json={"delta": -1}, headers=admin_headers)
    assert below.status_code == 409
    assert below.json() == {
        "detail": "Not enough stock: the result would be below zero",
        "stock": 0,
    }
    for bad in ({"delta": 1.5}, {"delta": "3"}, {}, {"delta": 1, "note": "x"}, {"delta": 2**31}):
        response = await client.post(url, json=bad, headers=admin_headers)
        assert response.status_code == 422, bad
    assert (await client.get(f"{PRODUCTS}/{product['id']}")).json()["stock"] == 0


async def test_stock_above_the_maximum_is_409(client: AsyncClient, admin_headers: Headers) -> None:
    product = await create(client, admin_headers, stock=2**31 - 10)
    url = f"{PRODUCTS}/{product['id']}/stock"
    response = await client.post(url, json={"delta": 2**31 - 1}, headers=admin_headers)
    assert response.status_code == 409
    assert (await client.get(f"{PRODUCTS}/{product['id']}")).json()["stock"] == 2**31 - 10


async def test_50_concurrent_decrements_on_stock_30(
    client: AsyncClient, admin_headers: Headers
) -> None:
    product = await create(client, admin_headers, stock=30)
    url = f"{PRODUCTS}/{product['id']}/stock"
    # Fifty separate HTTP requests at once, each with its own session and transaction.
    responses = await asyncio.gather(
        *(client.post(url, json={"delta": -1}, headers=admin_headers) for _ in range(50))
    )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 30
    assert codes.count(409) == 20
    assert sorted(r.json()["stock"] for r in responses if r.status_code == 200) == list(range(30))
    final = await client.get(f"{PRODUCTS}/{product['id']}")
    assert final.json()["stock"] == 0
