"""Shipping zones (admin) and a cart's shipping options and method, over HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

from httpx import AsyncClient

from tests.support.carts import address, cart_with, new_cart, new_zone
from tests.support.shop import new_product

ZONES = "/api/v1/admin/shipping-zones"


async def test_zone_crud(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    zone = await new_zone(
        client,
        admin_headers,
        ["de", "FR"],
        [{"name": "Standard", "price": 490, "free_over": 5000}, {"name": "Express", "price": 1490}],
        name="EU",
    )
    assert zone["name"] == "EU"
    assert zone["countries"] == ["DE", "FR"]
    assert [(m["name"], m["price"], m["free_over"]) for m in zone["methods"]] == [
        ("Standard", 490, 5000),
        ("Express", 1490, None),
    ]
    assert all(isinstance(m["id"], int) for m in zone["methods"])
    url = f"{ZONES}/{zone['id']}"
    assert (await client.get(url, headers=admin_headers)).json() == zone
    listed = (await client.get(ZONES, headers=admin_headers)).json()
    assert listed == {"items": [zone], "next_cursor": None}

    standard = zone["methods"][0]
    patched = await client.patch(
        url,
        headers=admin_headers,
        json={
            "name": "Europe",
            "countries": ["FR", "NL"],
            "methods": [{"id": standard["id"], "name": "Standard", "price": 590}],
        },
    )
    assert patched.status_code == 200, patched.text
    changed = patched.json()
    assert changed["name"] == "Europe"
    assert changed["countries"] == ["FR", "NL"]
    assert [(m["id"], m["price"]) for m in changed["methods"]] == [(standard["id"], 590)]
    # A method is added when sent without an id.
    added = await client.patch(
        url,
        headers=admin_headers,
        json={"methods": [*changed["methods"], {"name": "Overnight", "price": 2500}]},
    )
    assert [m["name"] for m in added.json()["methods"]] == ["Standard", "Overnight"]
    assert added.json()["countries"] == ["FR", "NL"]

    assert (await client.delete(url, headers=admin_headers)).status_code == 204
    assert (await client.get(url, headers=admin_headers)).status_code == 404
    assert (await client.delete(url, headers=admin_headers)).status_code == 404
    # Its countries are free again.
    await new_zone(client, admin_headers, ["DE", "FR", "NL"])


async def test_a_country_is_in_one_zone(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    first = await new_zone(client, admin_headers, ["DE", "AT"])
    response = await client.post(
        ZONES, headers=admin_headers, json={"name": "Other", "countries": ["CH", "AT"]}
    )
    assert response.status_code == 409, response.text
    assert "AT" in response.json()["detail"]
    # Nothing of the refused zone stays, not even CH.
    zones = (await client.get(ZONES, headers=admin_headers)).json()["items"]
    assert [zone["id"] for zone in zones] == [first["id"]]
    second = await new_zone(client, admin_headers, ["CH"])
    moved = await client.patch(
        f"{ZONES}/{second['id']}", headers=admin_headers, json={"countries": ["CH", "DE"]}
    )
    assert moved.status_code == 409
    assert (await client.get(f"{ZONES}/{second['id']}", headers=admin_headers)).json()[
        "countries"
    ] == ["CH"]


async def test_racing_zones_for_one_country(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    codes = await asyncio.gather(
        *(
            client.post(ZONES, headers=admin_headers, json={"name": f"Z{n}", "countries": ["IT"]})
            for n in range(10)
        )
    )
    assert sorted(response.status_code for response in codes) == [201] + [409] * 9


async def test_zone_input_is_validated(
    client: AsyncClient, admin_headers: dict[str, str], customer_headers: dict[str, str]
) -> None:
    bad: list[dict[str, Any]] = [
        {"name": "X", "countries": ["XX"]},
        {"name": "X", "countries": ["DE", "DE"]},
        {"name": "", "countries": ["DE"]},
        {"name": "X", "countries": ["DE"], "methods": [{"name": "S", "price": -1}]},
        {"name": "X", "countries": ["DE"], "methods": [{"name": "S", "price": 1.5}]},
        {"name": "X", "methods": [{"name": "S", "price": 100, "free_over": -5}]},
        {"name": "X", "methods": [{"price": 100}]},
    ]
    for body in bad:
        response = await client.post(ZONES, headers=admin_headers, json=body)
        assert response.status_code == 422, (body, response.text)
    zone = await new_zone(client, admin_headers, ["DE"])
    other = await new_zone(client, admin_headers, ["FR"])
    foreign = other["methods"][0]["id"]
    response = await client.patch(
        f"{ZONES}/{zone['id']}",
        headers=admin_headers,
        json={"methods": [{"id": foreign, "name": "Stolen", "price": 1}]},
    )
    assert response.status_code == 422
    assert (await client.get(f"{ZONES}/{other['id']}", headers=admin_headers)).json() == other
    assert (
        await client.post(ZONES, headers=customer_headers, json={"name": "X"})
    ).status_code == 403
    assert (await client.get(ZONES)).status_code == 401
    assert (await client.get(f"{ZONES}/999", headers=admin_headers)).status_code == 404


async def test_options_and_method_of_a_cart(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    eu = await new_zone(
        client,
        admin_headers,
        ["DE", "FR"],
        [{"name": "Standard", "price": 490, "free_over": 5000}, {"name": "Express", "price": 1490}],
    )
    us = await new_zone(client, admin_headers, ["US"], [{"name": "Ground", "price": 900}])
    standard, express = (m["id"] for m in eu["methods"])
    ground = us["methods"][0]["id"]
    product = await new_product(client, admin_headers, stock=100, price=2000)
    cart = await cart_with(client, [(product["id"], 2)])
    url = f"/api/v1/carts/{cart['id']}"

    # No address: not shipped, no options, no method to pick.
    assert (await client.get(f"{url}/shipping-options")).json() == []
    refused = await client.put(f"{url}/shipping-method", json={"option_id": standard})
    assert refused.status_code == 422

    await client.patch(url, json={"shipping_address": address("DE")})
    options = (await client.get(f"{url}/shipping-options")).json()
    assert options == [
        {"id": standard, "name": "Standard", "price": 490},
        {"id": express, "name": "Express", "price": 1490},
    ]
    unavailable = await client.put(f"{url}/shipping-method", json={"option_id": ground})
    assert unavailable.status_code == 422
    assert "not available" in unavailable.json()["detail"]
    unknown = await client.put(f"{url}/shipping-method", json={"option_id": 10**9})
    assert unknown.status_code == 422

    chosen = await client.put(f"{url}/shipping-method", json={"option_id": standard})
    assert chosen.status_code == 200, chosen.text
    cart = chosen.json()
    assert cart["shipping_method"] == {"id": standard, "name": "Standard", "price": 490}
    assert (cart["subtotal"], cart["shipping_total"], cart["total"]) == (4000, 490, 4490)

    # free_over: the subtotal reaching 5000 makes Standard free.
    cart = (
        await client.post(f"{url}/lines", json={"product_id": product["id"], "quantity": 1})
    ).json()
    assert cart["shipping_method"]["price"] == 0
    assert (cart["shipping_total"], cart["total"]) == (0, 6000)
    assert (await client.get(f"{url}/shipping-options")).json()[0]["price"] == 0

    # Another country of the same zone keeps the method; one outside clears it.
    cart = (await client.patch(url, json={"shipping_address": address("FR")})).json()
    assert cart["shipping_method"]["id"] == standard
    cart = (await client.patch(url, json={"shipping_address": address("US")})).json()
    assert cart["shipping_method"] is None
    assert cart["shipping_total"] == 0
    assert [o["id"] for o in (await client.get(f"{url}/shipping-options")).json()] == [ground]
    cart = (await client.put(f"{url}/shipping-method", json={"option_id": ground})).json()
    assert cart["total"] == 6000 + 900
    # No shipping address at all: not shipped, the method goes.
    cart = (await client.patch(url, json={"shipping_address": None})).json()
    assert cart["shipping_method"] is None and cart["total"] == 6000


async def test_a_zone_change_takes_a_method_away(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    zone = await new_zone(client, admin_headers, ["DE"])
    method = zone["methods"][0]["id"]
    cart = await new_cart(client)
    url = f"/api/v1/carts/{cart['id']}"
    await client.patch(url, json={"shipping_address": address("DE")})
    assert (await client.put(f"{url}/shipping-method", json={"option_id": method})).is_success
    await client.patch(f"{ZONES}/{zone['id']}", headers=admin_headers, json={"countries": ["AT"]})
    assert (await client.get(url)).json()["shipping_method"] is None
    assert (await client.get(f"{url}/shipping-options")).json() == []
    await client.delete(f"{ZONES}/{zone['id']}", headers=admin_headers)
    assert (await client.get(url)).json()["shipping_method"] is None
