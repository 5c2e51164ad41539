"""The demo's shipping zones: added once, never over the shop's own, and enough to check out."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.devtools.demo_catalog import seed_catalog
from ecommerce.devtools.demo_pricing import seed_pricing
from ecommerce.devtools.demo_shipping import DEMO_ZONES, seed_shipping
from tests.support.carts import address, new_zone


async def test_demo_zones_are_seeded_once_around_the_shops_own(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    own = await new_zone(client, admin_headers, ["CA"], name="Our Canada")
    async with AsyncSession(admin_engine) as session, session.begin():
        assert await seed_shipping(session) == len(DEMO_ZONES) - 1
    async with AsyncSession(admin_engine) as session, session.begin():
        assert await seed_shipping(session) == 0
    zones = (await client.get("/api/v1/admin/shipping-zones", headers=admin_headers)).json()
    by_name = {zone["name"]: zone for zone in zones["items"]}
    assert by_name["Our Canada"] == own
    assert "Canada" not in by_name
    assert by_name["Europe"]["countries"][:3] == ["AT", "BE", "DE"]
    assert [m["name"] for m in by_name["United States"]["methods"]] == ["Ground", "Express"]


async def test_the_demo_shop_checks_out_end_to_end(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    async with AsyncSession(admin_engine) as session, session.begin():
        await seed_catalog(session, "USD")
        await seed_pricing(session)
        await seed_shipping(session)
    products = (await client.get("/api/v1/products", params={"limit": 3})).json()["items"]
    cart = (await client.post("/api/v1/carts")).json()
    url = f"/api/v1/carts/{cart['id']}"
    for product in products:
        added = await client.post(f"{url}/lines", json={"product_id": product["id"], "quantity": 1})
        assert added.status_code == 200, added.text
    await client.patch(
        url, json={"email": "demo@example.com", "shipping_address": address("US", city="Austin")}
    )
    options = (await client.get(f"{url}/shipping-options")).json()
    assert [o["name"] for o in options] == ["Ground", "Express"]
    cart = (await client.put(f"{url}/shipping-method", json={"option_id": options[1]["id"]})).json()
    assert cart["shipping_total"] == 1499
    assert cart["tax_total"] > 0  # the demo's US sales tax
    placed = await client.post(
        f"{url}/checkout", json={"payment_token": "tok_visa", "expected_total": cart["total"]}
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == cart["total"]
    assert placed.json()["shipping"] == {"method": "Express", "price": 1499}
