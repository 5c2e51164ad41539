"""The demo catalog: realistic, deterministic, and safe to load again and again."""

from __future__ import annotations

import subprocess
import sys

from httpx import AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.devtools.demo_catalog import CATEGORIES, demo_products, seed_catalog
from ecommerce.models import Product
from tests.conftest import ROOT


def test_demo_catalog_is_deterministic_and_varied() -> None:
    rows = demo_products("USD")
    assert rows == demo_products("USD")
    assert 250 <= len(rows) <= 500
    assert len({r["sku"] for r in rows}) == len(rows)
    assert {r["sku"].split("-")[0] for r in rows} == {c.code for c in CATEGORIES}
    assert all(r["price"] > 0 and r["currency"] == "USD" for r in rows)
    assert any(r["stock"] == 0 for r in rows) and any(r["stock"] > 100 for r in rows)
    assert sum(r["is_active"] for r in rows) > 0.9 * len(rows)


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


def test_cli_seed_is_idempotent(database_url: str) -> None:
    def seed() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "ecommerce.cli", "seed"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    total = len(demo_products("USD"))
    assert f"demo catalog: {total} products added ({total} in the demo catalog)" in seed()
    assert f"demo catalog: 0 products added ({total} in the demo catalog)" in seed()
