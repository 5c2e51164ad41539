"""The catalog: creating, reading, listing and editing products (not their stock)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import Conflict, InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import Product
from ecommerce.repositories import product as product_repo
from ecommerce.repositories.pagination import paginate
from ecommerce.schemas.product import ProductCreate, ProductUpdate

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


async def list_products(
    session: AsyncSession,
    page: PageRequest,
    *,
    q: str | None = None,
    is_active: bool | None = True,
) -> tuple[list[Product], str | None]:
    """One page of products matching ``q`` (name or sku, any case) and ``is_active``.

    ``is_active=None`` lists active and inactive products alike.
    """
    statement = product_repo.search_statement(q, is_active=is_active)
    return await paginate(session, statement, page)


async def update_product(session: AsyncSession, product_id: int, data: ProductUpdate) -> Product:
    """Change the fields the client sent; ``updated_at`` moves. ``NotFound`` if missing."""
    changes = data.changes()
    if not changes:
        return await get_product(session, product_id, include_inactive=True)
    product = await product_repo.update_product(session, product_id, changes)
    if product is None:
        raise NotFound(PRODUCT_NOT_FOUND)
    return product
