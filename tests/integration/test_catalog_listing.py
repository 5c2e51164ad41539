"""Listing products: cursor pagination, search with `q`, and the index behind it."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.paging import PageRequest
from ecommerce.repositories.pagination import page_statement
from ecommerce.repositories.product import search_statement
from tests.support.factories import insert_products

PRODUCTS = "/api/v1/products"


async def walk(client: AsyncClient, **params: Any) -> tuple[list[int], int]:
    """Every id of every page, in order, and the number of pages."""
    ids: list[int] = []
    pages = 0
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(PRODUCTS, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages
        assert pages < 100, "pagination does not end"


async def test_pagination_walks_250_products_without_gap_or_repeat(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    await insert_products(admin_engine, 250)
    ids, pages = await walk(client, limit=30)
    assert ids == list(range(1, 251))
    assert pages == 9  # 8 full pages of 30 and one of 10
    default_ids, default_pages = await walk(client)
    assert default_ids == ids
    assert default_pages == 13  # default limit 20
    full, full_pages = await walk(client, limit=100)
    assert full == ids and full_pages == 3


async def test_exact_multiple_of_limit_ends_without_an_empty_page(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    await insert_products(admin_engine, 40)
    first = (await client.get(PRODUCTS, params={"limit": 20})).json()
    second = (
        await client.get(PRODUCTS, params={"limit": 20, "cursor": first["next_cursor"]})
    ).json()
    assert len(second["items"]) == 20
    assert second["next_cursor"] is None


async def test_pages_skip_inactive_products_for_the_public(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    await insert_products(admin_engine, 100, inactive_every=3)
    ids, _ = await walk(client, limit=7)
    assert ids == [i for i in range(1, 101) if i % 3 != 0]


async def test_new_rows_during_a_walk_appear_at_the_end_without_repeats(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    await insert_products(admin_engine, 10)
    first = (await client.get(PRODUCTS, params={"limit": 5})).json()
    async with admin_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO product (sku, name, price, currency) "
                "VALUES ('LATE-1', 'Late arrival', 100, 'USD')"
            )
        )
    rest, _ = await walk(client, limit=5, cursor=first["next_cursor"])
    assert [p["id"] for p in first["items"]] + rest == list(range(1, 12))


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "%%%",
        base64.urlsafe_b64encode(b"id:abc").decode(),
        base64.urlsafe_b64encode(b"id:-5").decode(),
        base64.urlsafe_b64encode(b"offset:5").decode(),
        base64.urlsafe_b64encode(f"id:{2**63}".encode()).decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "x" * 201,
    ],
)
async def test_invalid_cursor_is_422(client: AsyncClient, cursor: str) -> None:
    response = await client.get(PRODUCTS, params={"cursor": cursor})
    assert response.status_code == 422
    assert response.json()["detail"]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_limit_outside_1_to_100_is_422(client: AsyncClient, limit: str) -> None:
    response = await client.get(PRODUCTS, params={"limit": limit})
    assert response.status_code == 422


async def test_q_matches_name_or_sku_case_insensitively(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    products = [
        ("TEE-BLK", "Black T-shirt"),
        ("TEE-WHT", "White t-SHIRT"),
        ("MUG-1", "Enamel mug"),
        ("HOOD-1", "Shirtless hoodie"),
        ("PCT-1", "100% cotton socks"),
        ("UND-1", "snake_case poster"),
        ("UND-2", "snakeXcase poster"),
    ]
    for sku, name in products:
        body = {"sku": sku, "name": name, "price": 100}
        assert (await client.post(PRODUCTS, json=body, headers=admin_headers)).status_code == 201

    async def search(q: str) -> list[str]:
        response = await client.get(PRODUCTS, params={"q": q})
        assert response.status_code == 200
        return [p["sku"] for p in response.json()["items"]]

    assert await search("shirt") == ["TEE-BLK", "TEE-WHT", "HOOD-1"]
    assert await search("tee-") == ["TEE-BLK", "TEE-WHT"]
    assert await search("MUG") == ["MUG-1"]
    # LIKE wildcards in the input match literally.
    assert await search("%") == ["PCT-1"]
    assert await search("e_c") == ["UND-1"]
    assert await search("nothing like it") == []
    assert (await client.get(PRODUCTS, params={"q": ""})).status_code == 422
    assert (await client.get(PRODUCTS, params={"q": "x" * 101})).status_code == 422


async def test_q_is_served_by_the_trigram_indexes(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    """EXPLAIN the exact statement the listing runs, on a table with statistics.

    20,000 rows, then VACUUM ANALYZE, as autovacuum does on a live database: it gives the
    planner real statistics and merges the GIN indexes' pending list (right after a bulk
    insert the new entries sit in that list, which makes any index scan look costly).
    No enable_seqscan tricks: for a selective `q` the planner itself must choose the
    trigram indexes. bench/catalog_search.py shows the same on 100,000 rows, with timings.
    """
    await insert_products(admin_engine, 20_000)
    async with admin_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE product"))
    statement = page_statement(search_statement("ct 1234", is_active=True), PageRequest(20))
    sql = statement.compile(dialect=admin_engine.dialect, compile_kwargs={"literal_binds": True})
    async with admin_engine.connect() as conn:
        plan = "\n".join((await conn.execute(text(f"EXPLAIN {sql}"))).scalars())
    assert "ix_product_name_trgm" in plan, plan
    assert "ix_product_sku_trgm" in plan, plan
    assert "Seq Scan" not in plan, plan
    # And the API answers the same query correctly.
    response = await client.get(PRODUCTS, params={"q": "CT 1234"})
    names = [p["name"] for p in response.json()["items"]]
    assert names == ["Product 1234"] + [f"Product 1234{i}" for i in range(10)]
