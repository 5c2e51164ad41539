"""SQL for products: inserts arbitrated by the unique sku, search, partial updates, stock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    RowMapping,
    Select,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.paging import PageRequest, encode_cursor
from ecommerce.models import Product
from ecommerce.models.product import MAX_STOCK

# What a reader sees of a product (ProductRead's fields, in its order). Public reads fetch
# rows of these columns, not entities: no identity map, no instance state, and the rows
# go to JSON as they are (schemas.product.product_json).
READ_COLUMNS = (
    Product.id,
    Product.sku,
    Product.name,
    Product.description,
    Product.price,
    Product.currency,
    Product.stock,
    Product.is_active,
    Product.created_at,
    Product.updated_at,
)


def _escape_like(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def insert_product(session: AsyncSession, **values: Any) -> Product | None:
    """Insert a product; ``None`` when its sku exists already."""
    statement = (
        insert(Product)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Product.sku])
        .returning(Product)
    )
    return (await session.scalars(statement)).one_or_none()


async def insert_missing(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose sku is not there yet; existing products stay untouched."""
    if not rows:
        return 0
    statement = (
        insert(Product)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=[Product.sku])
        .returning(Product.id)
    )
    return len((await session.scalars(statement)).all())


async def get_product(session: AsyncSession, product_id: int) -> Product | None:
    return await session.get(Product, product_id)


async def current_stock(session: AsyncSession, product_id: int) -> int | None:
    """The product's stock as of now (``None``: no such product), read without caching."""
    stock: int | None = await session.scalar(select(Product.stock).where(Product.id == product_id))
    return stock


def _search_filters(q: str | None, is_active: bool | None) -> list[ColumnElement[bool]]:
    """``q`` is a case-insensitive substring of the name or the sku. ``ILIKE '%q%'`` on the
    bare columns is what the trigram GIN indexes (ix_product_name_trgm,
    ix_product_sku_trgm) serve; wrapping a column in ``lower()`` would bypass them.
    """
    filters: list[ColumnElement[bool]] = []
    if q:
        pattern = f"%{_escape_like(q)}%"
        filters.append(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.sku.ilike(pattern, escape="\\"),
            )
        )
    if is_active is not None:
        filters.append(Product.is_active.is_(is_active))
    return filters


def search_statement(q: str | None = None, *, is_active: bool | None = None) -> Select[Product]:
    """Products, optionally matching ``q`` and filtered on ``is_active``; unordered."""
    return select(Product).where(*_search_filters(q, is_active))


async def read_row(session: AsyncSession, product_id: int) -> RowMapping | None:
    """The product's READ_COLUMNS, or ``None``."""
    statement = select(*READ_COLUMNS).where(Product.id == product_id)
    return (await session.execute(statement)).mappings().one_or_none()


async def read_page(
    session: AsyncSession, page: PageRequest, q: str | None, is_active: bool | None
) -> tuple[list[RowMapping], str | None]:
    """One page (ascending id) of READ_COLUMNS rows matching ``q`` and ``is_active``, and
    the cursor of the next page (``None`` on the last)."""
    statement = select(*READ_COLUMNS).where(*_search_filters(q, is_active))
    if page.after is not None:
        statement = statement.where(Product.id > page.after)
    # One row more than asked tells whether another page exists (see pagination.py).
    statement = statement.order_by(Product.id).limit(page.limit + 1)
    rows = list((await session.execute(statement)).mappings().all())
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(rows[-1]["id"])
    return rows, None


async def update_product(
    session: AsyncSession, product_id: int, changes: dict[str, Any]
) -> Product | None:
    """Apply ``changes`` in one UPDATE; ``None`` when the product does not exist."""
    statement = (
        update(Product)
        .where(Product.id == product_id)
        .values(**changes, updated_at=func.now())
        .returning(Product)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def add_stock(session: AsyncSession, product_id: int, delta: int) -> Product | None:
    """Move stock by ``delta`` in one conditional UPDATE, or not at all.

    ``None`` when the product does not exist or the result would leave 0..MAX_STOCK.
    The condition is checked on the row as locked by the UPDATE, so concurrent
    adjustments serialise on the row and none can take stock below zero. The sum is
    computed as a bigint so a huge delta fails the condition instead of overflowing.
    """
    new_stock = cast(Product.stock, BigInteger) + delta
    statement = (
        update(Product)
        .where(Product.id == product_id, new_stock >= 0, new_stock <= MAX_STOCK)
        .values(stock=Product.stock + delta, updated_at=func.now())
        .returning(Product)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()
