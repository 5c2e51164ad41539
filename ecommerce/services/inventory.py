"""Stock: it moves only here (and in checkout), by conditional updates, never below zero."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.database import Database
from ecommerce.core.errors import Conflict, InvalidInput, NotFound, OutOfStock
from ecommerce.models import Product
from ecommerce.models.product import MAX_STOCK
from ecommerce.repositories import product as product_repo
from ecommerce.services.catalog import PRODUCT_NOT_FOUND
from ecommerce.services.catalog_cache import CatalogCache


async def adjust_stock(session: AsyncSession, product_id: int, delta: int) -> Product:
    """Add ``delta`` (negative removes) to a product's stock in one conditional UPDATE.

    - ``NotFound`` when the product does not exist;
    - ``OutOfStock`` (409) when the result would be below zero, ``Conflict`` when above
      the column's maximum; nothing changes then, and the body names the stock seen.

    Correct under any concurrency: the condition is evaluated on the locked row, so
    fifty concurrent -1 on a stock of 30 leave 0 with 30 successes and 20 conflicts.
    """
    if abs(delta) > MAX_STOCK:
        raise InvalidInput(f"delta must be between {-MAX_STOCK} and {MAX_STOCK}")
    product = await product_repo.add_stock(session, product_id, delta)
    if product is not None:
        return product
    available = await product_repo.current_stock(session, product_id)
    if available is None:
        raise NotFound(PRODUCT_NOT_FOUND)
    if delta < 0:
        raise OutOfStock("Not enough stock: the result would be below zero", stock=available)
    raise Conflict(f"Stock would exceed the maximum of {MAX_STOCK}", stock=available)


async def adjust(database: Database, cache: CatalogCache, product_id: int, delta: int) -> Product:
    """Workflow: ``adjust_stock`` in a transaction of its own, then forget the product in
    this worker's catalog cache (a refused adjustment changed nothing to forget)."""
    async with database.transaction() as session:
        product = await adjust_stock(session, product_id, delta)
    cache.invalidate([product_id])
    return product
