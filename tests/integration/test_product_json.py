"""Public product reads answer JSON made once from rows: the very bytes ProductRead makes."""

from __future__ import annotations

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.models import Product
from ecommerce.schemas.common import Page
from ecommerce.schemas.product import ProductRead
from tests.support.factories import new_product

Headers = dict[str, str]


async def read_models(engine: AsyncEngine, *ids: int) -> list[ProductRead]:
    async with AsyncSession(engine) as session:
        rows = await session.scalars(
            select(Product).where(Product.id.in_(ids)).order_by(Product.id)
        )
        return [ProductRead.model_validate(row) for row in rows]


async def test_a_product_is_the_json_of_its_response_model(
    client: AsyncClient, admin_headers: Headers, admin_engine: AsyncEngine
) -> None:
    created = await new_product(client, admin_headers, stock=3, description="Blue, 330 ml")
    response = await client.get(f"/api/v1/products/{created['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    [expected] = await read_models(admin_engine, created["id"])
    assert response.content == expected.model_dump_json().encode()


async def test_a_page_is_the_json_of_its_response_model(
    client: AsyncClient, admin_headers: Headers, admin_engine: AsyncEngine
) -> None:
    ids = [(await new_product(client, admin_headers, stock=1))["id"] for _ in range(3)]
    response = await client.get("/api/v1/products", params={"limit": 2})
    assert response.status_code == 200
    first_page = Page[ProductRead](
        items=await read_models(admin_engine, *ids[:2]), next_cursor=response.json()["next_cursor"]
    )
    assert response.content == first_page.model_dump_json().encode()
    assert response.json()["next_cursor"] is not None
    last = await client.get(
        "/api/v1/products", params={"limit": 2, "cursor": response.json()["next_cursor"]}
    )
    last_page = Page[ProductRead](items=await read_models(admin_engine, ids[2]), next_cursor=None)
    assert last.content == last_page.model_dump_json().encode()
