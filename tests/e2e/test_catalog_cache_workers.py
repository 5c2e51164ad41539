"""The catalog cache under a real gunicorn with two workers: a price changed through one
worker shows in the other, which learns of it by LISTEN/NOTIFY (the TTL is 10 minutes).

Every read goes on a fresh connection, so the kernel spreads them over both workers;
the per-worker request counters (prometheus multiprocess files) show that both served
reads before the change, and both after it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.metrics import value_by_pid
from tests.support.processes import gunicorn

ADMIN_EMAIL, ADMIN_PASSWORD = "cache.admin@example.com", "cache-admin-password"
READ_ROUTE = {"method": "GET", "route": "/api/v1/products/{id}", "status": "200"}
READS = 40  # per round, each on its own connection
ANNOUNCED_WITHIN = 10.0  # seconds; the cache's TTL is 600


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "ECOMMERCE_CATALOG_CACHE_TTL": "600",
        "ECOMMERCE_FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "ECOMMERCE_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ECOMMERCE_RECONCILER_ENABLED": "false",
        "ECOMMERCE_LOG_LEVEL": "WARNING",
    }
    with (tmp_path / "gunicorn.log").open("wb") as log, gunicorn(database_url, 2, env, log) as base:
        yield base, metrics_dir


def reads_by_worker(metrics_dir: Path) -> dict[int, float]:
    return value_by_pid(metrics_dir, "http_requests_total", **READ_ROUTE)


def prices(base: str, product_id: int) -> set[int]:
    seen = set()
    for _ in range(READS):
        response = httpx.get(f"{base}/api/v1/products/{product_id}", timeout=10)
        assert response.status_code == 200, response.text
        seen.add(response.json()["price"])
    return seen


def both_served(before: dict[int, float], after: dict[int, float]) -> bool:
    return len([pid for pid, count in after.items() if count > before.get(pid, 0)]) == 2


def test_a_price_change_reaches_both_workers(served: tuple[str, Path]) -> None:
    base, metrics_dir = served
    token = httpx.post(
        f"{base}/api/v1/auth/token",
        data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    admin = {"Authorization": f"Bearer {token.json()['access_token']}"}
    created = httpx.post(
        f"{base}/api/v1/products",
        json={"sku": "CACHED-1", "name": "Cached mug", "price": 1000, "stock": 5},
        headers=admin,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]

    start = reads_by_worker(metrics_dir)
    assert prices(base, product_id) == {1000}  # both workers' caches hold it now
    filled = reads_by_worker(metrics_dir)
    assert both_served(start, filled)

    patched = httpx.patch(
        f"{base}/api/v1/products/{product_id}", json={"price": 1700}, headers=admin, timeout=10
    )
    assert patched.status_code == 200
    deadline = time.monotonic() + ANNOUNCED_WITHIN
    seen = prices(base, product_id)
    while seen != {1700} and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = prices(base, product_id)
    assert seen == {1700}
    assert both_served(filled, reads_by_worker(metrics_dir))
