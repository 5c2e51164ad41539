"""The demo's tax rates and sample code: inserted once, never overwriting the shop's edits."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.devtools.demo_pricing import DEMO_CODE, DEMO_TAX_RATES, seed_pricing


async def test_demo_pricing_is_seeded_once(
    client: AsyncClient, admin_headers: dict[str, str], admin_engine: AsyncEngine
) -> None:
    changed = await client.put(
        "/api/v1/admin/tax-rates/DE", json={"rate_bps": 700}, headers=admin_headers
    )
    assert changed.status_code == 200
    async with AsyncSession(admin_engine) as session, session.begin():
        assert await seed_pricing(session) == (len(DEMO_TAX_RATES) - 1, 1)
    async with AsyncSession(admin_engine) as session, session.begin():
        assert await seed_pricing(session) == (0, 0)

    rates = (await client.get("/api/v1/admin/tax-rates", headers=admin_headers)).json()
    by_country = {r["country"]: r["rate_bps"] for r in rates["items"]}
    assert by_country["DE"] == 700  # the shop's own rate stays
    assert by_country["US"] == 725
    codes = (await client.get("/api/v1/admin/discounts", headers=admin_headers)).json()
    assert [(c["code"], c["kind"], c["value"]) for c in codes["items"]] == [
        (DEMO_CODE["code"], "percent", 1000)
    ]
