"""SQL for products: inserts arbitrated by the unique sku, search, partial updates, stock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
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


# The public reads run on the driver's connection (Database.driver_connection): plain
# SQL with $n parameters, prepared once per connection by asyncpg. Same columns, same
# filters as the ORM statements above (tests/integration/test_product_json.py compares).
_READ_COLUMN_NAMES = ", ".join(c.key for c in READ_COLUMNS)
_READ_SELECT = f"SELECT {_READ_COLUMN_NAMES} FROM product"  # noqa: S608 - our column names
_BY_ID_SQL = _READ_SELECT + " WHERE id = $1"


async def read_row(connection: Any, product_id: int) -> Mapping[str, Any] | None:
    """The product's READ_COLUMNS, or ``None``; ``connection`` is an asyncpg connection."""
    row = await connection.fetchrow(_BY_ID_SQL, product_id)
    return None if row is None else dict(row)


def _page_sql(page: PageRequest, q: str | None, is_active: bool | None) -> tuple[str, list[Any]]:
    conditions: list[str] = []
    arguments: list[Any] = []

    def argument(value: Any) -> str:
        arguments.append(value)
        return f"${len(arguments)}"

    if is_active is not None:
        conditions.append(f"is_active = {argument(is_active)}")
    if q:
        # ILIKE on the bare columns: what the trigram GIN indexes serve (_search_filters).
        pattern = argument(f"%{_escape_like(q)}%")
        conditions.append(f"(name ILIKE {pattern} ESCAPE '\\' OR sku ILIKE {pattern} ESCAPE '\\')")
    if page.after is not None:
        conditions.append(f"id > {argument(page.after)}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    # One row more than asked tells whether another page exists (see pagination.py).
    return f"{_READ_SELECT}{where} ORDER BY id LIMIT {argument(page.limit + 1)}", arguments


async def read_page(
    connection: Any, page: PageRequest, q: str | None, is_active: bool | None
) -> tuple[list[Mapping[str, Any]], str | None]:
    """One page (ascending id) of READ_COLUMNS rows matching ``q`` and ``is_active``, and
    the cursor of the next page (``None`` on the last); ``connection`` is asyncpg's."""
    sql, arguments = _page_sql(page, q, is_active)
    rows: list[Mapping[str, Any]] = [dict(row) for row in await connection.fetch(sql, *arguments)]
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
