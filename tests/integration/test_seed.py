"""The demo catalog loads once and keeps changes.

The catalog itself: tests/unit/test_demo_catalog.py; the CLI: tests/e2e/test_seed_cli.py.
"""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.devtools.demo_catalog import seed_catalog
from ecommerce.models import Product


async def test_seed_twice_inserts_once_and_keeps_changes(
    admin_engine: AsyncEngine, client: AsyncClient
) -> None:
    async with AsyncSession(admin_engine) as session:
        inserted, total = await seed_catalog(session, "USD")
        await session.commit()
    assert inserted == total
    async with admin_engine.begin() as conn:
        await conn.execute(text("UPDATE product SET stock = 1, price = 5 WHERE sku = 'APP-0001'"))
    async with AsyncSession(admin_engine) as session:
        assert await seed_catalog(session, "USD") == (0, total)
        await session.commit()
        count = await session.scalar(select(func.count()).select_from(Product))
        kept = await session.scalar(select(Product).where(Product.sku == "APP-0001"))
    assert count == total
    assert kept is not None and (kept.stock, kept.price) == (1, 5)
    # The shop shows it.
    page = (await client.get("/api/v1/products", params={"q": "t-shirt"})).json()
    assert page["items"] and all("T-shirt" in p["name"] for p in page["items"])
