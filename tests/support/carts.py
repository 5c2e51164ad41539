"""Cart and shipping helpers for tests: addresses, zones, carts with lines."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response


def address(country: str = "DE", **fields: Any) -> dict[str, Any]:
    return {
        "name": "Erika Mustermann",
        "line1": "Heidestrasse 17",
        "city": "Berlin",
        "postal_code": "10557",
        "country": country,
    } | fields


async def new_zone(
    client: AsyncClient,
    admin: dict[str, str],
    countries: list[str],
    methods: list[dict[str, Any]] | None = None,
    name: str = "Zone",
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/admin/shipping-zones",
        headers=admin,
        json={
            "name": name,
            "countries": countries,
            "methods": methods if methods is not None else [{"name": "Standard", "price": 500}],
        },
    )
    assert response.status_code == 201, response.text
    zone: dict[str, Any] = response.json()
    return zone


async def new_cart(client: AsyncClient, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = await client.post("/api/v1/carts", headers=headers or {})
    assert response.status_code == 201, response.text
    cart: dict[str, Any] = response.json()
    return cart


async def add_line(
    client: AsyncClient,
    cart_id: str,
    product_id: int,
    quantity: int = 1,
    headers: dict[str, str] | None = None,
) -> Response:
    return await client.post(
        f"/api/v1/carts/{cart_id}/lines",
        headers=headers or {},
        json={"product_id": product_id, "quantity": quantity},
    )


async def cart_with(
    client: AsyncClient,
    lines: list[tuple[int, int]],
    headers: dict[str, str] | None = None,
    **patch: Any,
) -> dict[str, Any]:
    """A cart holding these (product id, quantity) lines, patched with ``patch``."""
    cart = await new_cart(client, headers)
    for product_id, quantity in lines:
        response = await add_line(client, cart["id"], product_id, quantity, headers)
        assert response.status_code == 200, response.text
        cart = response.json()
    if patch:
        response = await client.patch(
            f"/api/v1/carts/{cart['id']}", headers=headers or {}, json=patch
        )
        assert response.status_code == 200, response.text
        cart = response.json()
    return cart
