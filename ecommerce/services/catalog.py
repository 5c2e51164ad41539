"""The catalog: creating, reading, listing and editing products (not their stock).

Public reads answer ProductRead's JSON made once from rows, through the catalog cache;
admin writes are workflows that invalidate that cache after their commit.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.database import Database
from ecommerce.core.errors import Conflict, InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import Product
from ecommerce.repositories import product as product_repo
from ecommerce.schemas.product import (
    ProductCreate,
    ProductUpdate,
    product_json,
    product_page_json,
)
from ecommerce.services.catalog_cache import CatalogCache

PRODUCT_NOT_FOUND = "Product not found"


async def create_product(session: AsyncSession, data: ProductCreate, currency: str) -> Product:
    """Add a product priced in the store's ``currency``; ``Conflict`` on a duplicate sku.

    The store sells in one currency (orders add prices up), so a product in another is
    refused rather than stored.
    """
    if data.currency is not None and data.currency != currency:
        raise InvalidInput(f"This store sells in {currency}; got {data.currency}")
    product = await product_repo.insert_product(
        session,
        sku=data.sku,
        name=data.name,
        description=data.description,
        price=data.price,
        currency=currency,
        stock=data.stock,
    )
    if product is None:
        raise Conflict(f"A product with sku {data.sku!r} exists already")
    return product


async def get_product(
    session: AsyncSession, product_id: int, *, include_inactive: bool = False
) -> Product:
    """The product, or ``NotFound``; inactive ones exist only for ``include_inactive``."""
    product = await product_repo.get_product(session, product_id)
    if product is None or not (product.is_active or include_inactive):
        raise NotFound(PRODUCT_NOT_FOUND)
    return product


async def product_view(
    database: Database,
    cache: CatalogCache,
    product_id: int,
    *,
    include_inactive: bool = False,
) -> bytes:
    """The product as a reader sees it (ProductRead's JSON), or ``NotFound``.

    The public view may come from the catalog cache; an admin's (``include_inactive``)
    is always read from the database.
    """

    async def load() -> bytes:
        async with database.driver_connection() as connection:
            row = await product_repo.read_row(connection, product_id)
        if row is None or not (row["is_active"] or include_inactive):
            raise NotFound(PRODUCT_NOT_FOUND)
        return product_json(row)

    if include_inactive:
        return await load()
    return await cache.product(product_id, load)


async def products_page_view(
    database: Database,
    cache: CatalogCache,
    page: PageRequest,
    *,
    q: str | None = None,
    is_active: bool | None = True,
) -> bytes:
    """One page (``Page[ProductRead]``'s JSON) of products matching ``q`` and ``is_active``.

    ``is_active=None`` lists active and inactive products alike (admins); only the public
    view (active products) may come from the catalog cache.
    """

    async def load() -> bytes:
        async with database.driver_connection() as connection:
            rows, next_cursor = await product_repo.read_page(connection, page, q, is_active)
        return product_page_json(rows, next_cursor)

    if is_active is not True:
        return await load()
    return await cache.page((page.limit, page.after, q), load)


async def create(
    database: Database, cache: CatalogCache, data: ProductCreate, currency: str
) -> Product:
    """Workflow: add a product; this worker's cache forgets before the caller hears of it
    (the other workers hear through the product trigger's NOTIFY)."""
    async with database.transaction() as session:
        product = await create_product(session, data, currency)
    cache.invalidate([product.id])  # after the commit: no reader can fill in the old state
    return product


async def edit(
    database: Database, cache: CatalogCache, product_id: int, data: ProductUpdate
) -> Product:
    """Workflow: change a product's fields, then forget it in this worker's cache."""
    async with database.transaction() as session:
        product = await update_product(session, product_id, data)
    cache.invalidate([product_id])
    return product


async def update_product(session: AsyncSession, product_id: int, data: ProductUpdate) -> Product:
    """Change the fields the client sent; ``updated_at`` moves. ``NotFound`` if missing."""
    changes = data.changes()
    if not changes:
        return await get_product(session, product_id, include_inactive=True)
    product = await product_repo.update_product(session, product_id, changes)
    if product is None:
        raise NotFound(PRODUCT_NOT_FOUND)
    return product
