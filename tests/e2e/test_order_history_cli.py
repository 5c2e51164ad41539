"""``ecommerce seed --orders`` as a process: the catalog, then the history."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Order, Product
from tests.conftest import ROOT


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecommerce.cli", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_cli_seed_orders_loads_the_catalog_then_the_history(
    database_url: str, admin_engine: AsyncEngine
) -> None:
    result = await asyncio.to_thread(_cli, database_url, "seed", "--orders", "200")
    assert result.returncode == 0, result.stderr
    assert "order history: 25 customers, 200 orders," in result.stdout
    assert "rows/s" in result.stdout and "statuses: shipped" in result.stdout
    async with admin_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Order)) == 200
        assert (await conn.scalar(select(func.count()).select_from(Product)) or 0) > 0

    refused = await asyncio.to_thread(_cli, database_url, "seed", "--orders", "0")
    assert refused.returncode == 2
    assert "must be at least 1" in refused.stderr
