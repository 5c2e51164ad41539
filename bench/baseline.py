"""The thinnest app serving what the catalog serves: FastAPI + raw asyncpg + orjson.

``make bench`` runs it under gunicorn with the service's worker class and worker count,
against the same database, as the yardstick for the service's read routes: the same
product rows by id, the same first page of 20 (and the same ``q`` search), the same
JSON bytes give or take key order. No auth, no logging, no metrics, no ORM: what is
left is the price of HTTP, FastAPI routing, one query and one ``orjson.dumps``.

    BASELINE_DATABASE_URL=postgresql://... gunicorn --pythonpath bench baseline:app \\
        -k uvicorn_worker.UvicornWorker -w 2
"""

from __future__ import annotations

import base64
import os
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


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    size = int(os.environ.get("BASELINE_POOL_SIZE", "10"))
    pool = await asyncpg.create_pool(_dsn(), min_size=size, max_size=size)
    try:
        yield {"pool": pool}
    finally:
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
