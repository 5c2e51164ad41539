"""The anonymous read by id (api/fast_reads.py) answers exactly as the route does.

Anonymous ``GET /api/v1/products/{id}`` with a canonical id takes the short path; a
signed-in caller, or any other spelling of the id, goes through FastAPI's route. Both
must give the same status, body and headers, and every request keeps its access line,
request id, metrics, security headers and body limit, with the cache on and off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.api.fast_reads import canonical_id
from ecommerce.core.config import Settings
from ecommerce.core.ids import MAX_ID
from ecommerce.main import create_app
from tests.support.factories import new_product
from tests.support.lifespan import running
from tests.support.metrics import parse_samples, value

PRODUCTS = "/api/v1/products"
Headers = dict[str, str]
ROUTE = "/api/v1/products/{id}"


@pytest.fixture(params=[600.0, 0.0], ids=["cache-on", "cache-off"])
async def http(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[AsyncClient]:
    app = create_app(settings.model_copy(update={"catalog_cache_ttl": request.param}))
    async with running(app) as live:
        transport = ASGITransport(app=live.asgi, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


def comparable(response: Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    """Status, body and headers, without what differs per request (its id)."""
    headers = sorted((k, v) for k, v in response.headers.items() if k != "x-request-id")
    return response.status_code, response.content, headers


@pytest.mark.parametrize(
    ("text_id", "expected"),
    [
        ("1", 1),
        ("42", 42),
        (str(MAX_ID), MAX_ID),
        ("0", None),
        ("007", None),
        ("+7", None),
        (" 7", None),
        ("-1", None),
        ("1_000", None),
        ("", None),
        ("abc", None),
        ("٣", None),  # a digit to str.isdigit, not to us
        (str(MAX_ID + 1), None),
        ("1" * 30, None),
    ],
)
def test_only_canonical_ids_take_the_short_path(text_id: str, expected: int | None) -> None:
    assert canonical_id(text_id) == expected


async def test_anonymous_and_signed_in_reads_answer_the_same(
    http: AsyncClient, admin_headers: Headers, customer_headers: Headers
) -> None:
    product = await new_product(http, admin_headers, stock=3)
    path = f"{PRODUCTS}/{product['id']}"
    for _ in range(2):  # a miss, then (cache on) a hit
        anonymous = await http.get(path)
        signed_in = await http.get(path, headers=customer_headers)
        assert anonymous.status_code == 200
        assert anonymous.json() == product
        assert comparable(anonymous) == comparable(signed_in)
        assert anonymous.headers["content-type"] == "application/json"
        assert anonymous.headers["x-content-type-options"] == "nosniff"
        assert anonymous.headers["x-request-id"]
    # Another spelling of the same id goes through the route: the same answer.
    assert comparable(await http.get(f"{PRODUCTS}/0{product['id']}")) == comparable(anonymous)


async def test_missing_and_inactive_are_404_as_on_the_route(
    http: AsyncClient, admin_engine: AsyncEngine, admin_headers: Headers, customer_headers: Headers
) -> None:
    product = await new_product(http, admin_headers)
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("UPDATE product SET is_active = false WHERE id = :id"), {"id": product["id"]}
        )
    for path in (f"{PRODUCTS}/{product['id']}", f"{PRODUCTS}/{MAX_ID}"):
        anonymous = await http.get(path)
        assert anonymous.status_code == 404
        assert anonymous.json() == {"detail": "Product not found"}
        assert comparable(anonymous) == comparable(await http.get(path, headers=customer_headers))
    # An admin sees it: a token sends the request down the route.
    admin_view = await http.get(f"{PRODUCTS}/{product['id']}", headers=admin_headers)
    assert admin_view.status_code == 200
    assert admin_view.json()["is_active"] is False


@pytest.mark.parametrize("bad_id", ["0", "abc", str(MAX_ID + 1), "-5"])
async def test_bad_ids_are_422(http: AsyncClient, bad_id: str) -> None:
    response = await http.get(f"{PRODUCTS}/{bad_id}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "id"]


async def test_a_bad_token_is_401_on_the_read_too(http: AsyncClient) -> None:
    response = await http.get(f"{PRODUCTS}/1", headers={"Authorization": "Bearer not-a-jwt"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


async def test_reads_are_counted_logged_and_guarded(
    http: AsyncClient, admin_headers: Headers, caplog: pytest.LogCaptureFixture
) -> None:
    product = await new_product(http, admin_headers)
    path = f"{PRODUCTS}/{product['id']}"
    ok = {"method": "GET", "route": ROUTE, "status": "200"}
    before = parse_samples((await http.get("/metrics")).text)
    with caplog.at_level(logging.INFO, logger="ecommerce.access"):
        for _ in range(3):
            response = await http.get(path, headers={"X-Request-ID": "read-path-1"})
            assert response.headers["x-request-id"] == "read-path-1"
        assert (await http.get(f"{PRODUCTS}/{MAX_ID}")).status_code == 404
    after = parse_samples((await http.get("/metrics")).text)
    counted = (value(after, "http_requests_total", **ok) or 0) - (
        value(before, "http_requests_total", **ok) or 0
    )
    assert counted == 3
    missing = {**ok, "status": "404"}
    assert (value(after, "http_requests_total", **missing) or 0) - (
        value(before, "http_requests_total", **missing) or 0
    ) == 1
    lines = [r for r in caplog.records if r.name == "ecommerce.access"]
    reads = [r for r in lines if getattr(r, "path", None) == path]
    assert len(reads) == 3
    assert all(getattr(r, "route", None) == ROUTE for r in reads)
    assert all(getattr(r, "request_id", None) == "read-path-1" for r in reads)
    # The body limit still stands in front of it.
    too_large = await http.get(path, headers={"Content-Length": str(10 * 1024 * 1024)})
    assert too_large.status_code == 413
