"""The thinnest app serving what the catalog serves: FastAPI + raw asyncpg + orjson.

``make bench`` runs it under gunicorn with the service's worker class and worker count,
against the same database, as the yardstick for the service's read routes: the same
product rows by id, the same first page of 20 (and the same ``q`` search), the same
JSON bytes give or take key order. No auth, no logging, no metrics, no ORM: what is
left is the price of HTTP, FastAPI routing, one query and one ``orjson.dumps``.

With BASELINE_LAG_DIR set, each worker also runs the service's event-loop lag sampler
(a timer every BASELINE_LAG_INTERVAL seconds, how late it fires) and appends
``<monotonic time> <lag>`` lines to ``<dir>/<pid>.lag``: the same reading under the same
load, from an app that does nothing but serve, so the harness can tell what part of the
service's lag is the machine.

    BASELINE_DATABASE_URL=postgresql://... gunicorn --pythonpath bench baseline:app \\
        -k uvicorn_worker.UvicornWorker -w 2
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import FastAPI, Query, Request
from fastapi.responses import Response

_SELECT = (
    "SELECT id, sku, name, description, price, currency, stock, is_active, created_at, "
    "updated_at FROM product WHERE is_active "
)
BY_ID = _SELECT + "AND id = $1"
FIRST_PAGE = _SELECT + "ORDER BY id LIMIT $1"
SEARCH = _SELECT + (
    "AND (name ILIKE $2 ESCAPE '\\' OR sku ILIKE $2 ESCAPE '\\') ORDER BY id LIMIT $1"
)
NOT_FOUND = orjson.dumps({"detail": "Product not found"})


def _dsn() -> str:
    # The service's SQLAlchemy URL works once the driver name is dropped.
    return os.environ["BASELINE_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def _cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


async def _sample_lag(directory: str, interval: float) -> None:
    """As ecommerce.core.runtime_sampler.sample_runtime: sleep, record how late the loop woke us.
    Line-buffered appends of a few bytes, ten a second: nothing the loop would notice."""
    loop = asyncio.get_running_loop()
    with open(os.path.join(directory, f"{os.getpid()}.lag"), "a", buffering=1) as out:
        while True:
            scheduled = loop.time() + interval
            await asyncio.sleep(interval)
            out.write(f"{time.monotonic():.6f} {loop.time() - scheduled:.6f}\n")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    size = int(os.environ.get("BASELINE_POOL_SIZE", "10"))
    pool = await asyncpg.create_pool(_dsn(), min_size=size, max_size=size)
    sampler = None
    if os.environ.get("BASELINE_LAG_DIR"):
        interval = float(os.environ.get("BASELINE_LAG_INTERVAL", "0.1"))
        sampler = asyncio.create_task(_sample_lag(os.environ["BASELINE_LAG_DIR"], interval))
    try:
        yield {"pool": pool}
    finally:
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        await pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/api/v1/products/{product_id}")
async def get_product(product_id: int, request: Request) -> Response:
    row = await request.state.pool.fetchrow(BY_ID, product_id)
    if row is None:
        return _json(NOT_FOUND, 404)
    return _json(orjson.dumps(dict(row)))


@app.get("/api/v1/products")
async def list_products(
    request: Request,
    limit: int = Query(20, ge=1, le=100),
    q: str | None = Query(None, min_length=1, max_length=100),
) -> Response:
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = await request.state.pool.fetch(SEARCH, limit + 1, pattern)
    else:
        rows = await request.state.pool.fetch(FIRST_PAGE, limit + 1)
    items = [dict(row) for row in rows[:limit]]
    next_cursor = _cursor(items[-1]["id"]) if len(rows) > limit else None
    return _json(orjson.dumps({"items": items, "next_cursor": next_cursor}))


@app.get("/health/ready")
async def ready() -> Response:
    return _json(b'{"status":"ok"}')
