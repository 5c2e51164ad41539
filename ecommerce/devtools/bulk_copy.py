"""Bulk writes for generated history: id reservation and binary COPY through asyncpg.

COPY is an order of magnitude faster than INSERT for millions of rows. It goes through
the raw asyncpg connection under a SQLAlchemy connection, so the engine's settings
(statement timeout, application name) still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from ecommerce.models import Product

USER_COLUMNS = ("id", "email", "hashed_password", "full_name", "is_admin", "created_at")
ORDER_COLUMNS = (
    "id",
    "user_id",
    "status",
    "total",
    "currency",
    "charge_id",
    "payment_status",
    "refund_id",
    "created_at",
    "updated_at",
    # Generated orders are not shipped, discounted or taxed: the subtotal is the total.
    "subtotal",
)
# ``id`` is left to its sequence, so the lines of an order get ascending ids.
ORDER_LINE_COLUMNS = (
    "order_id",
    "product_id",
    "sku",
    "name",
    "unit_price",
    "quantity",
    "line_total",
)

Record = tuple[Any, ...]


async def driver_connection(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn`` (typed ``Any``: asyncpg ships no stubs)."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def reserve_ids(conn: AsyncConnection, table: str, count: int) -> list[int]:
    """Take ``count`` ids from ``table``'s id sequence, as concurrent inserts would.

    The ids are not necessarily contiguous when other sessions insert meanwhile.
    """
    result = await conn.execute(
        text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
        {"table": f'"{table}"', "n": count},
    )
    return list(result.scalars())


async def copy_records(
    conn: AsyncConnection, table: str, columns: Sequence[str], records: Sequence[Record]
) -> None:
    """Binary COPY ``records`` into ``table``, in ``conn``'s transaction.

    Omitted columns take their defaults (sequence ids, ``gen_random_uuid()``).
    """
    if not records:
        return
    driver = await driver_connection(conn)
    if not driver.is_in_transaction():
        # SQLAlchemy opens its transaction lazily; make it open now so the COPY commits
        # or rolls back with the caller's transaction instead of committing on its own.
        await conn.execute(select(1))
    await driver.copy_records_to_table(table, records=records, columns=list(columns))


async def active_catalog(
    conn: AsyncConnection, currency: str
) -> Sequence[tuple[int, str, str, int]]:
    """``(id, sku, name, price)`` of every active product priced in ``currency``."""
    result = await conn.execute(
        select(Product.id, Product.sku, Product.name, Product.price)
        .where(Product.is_active.is_(True), Product.currency == currency)
        .order_by(Product.id)
    )
    return [(row.id, row.sku, row.name, row.price) for row in result]


async def analyze(conn: AsyncConnection, tables: Sequence[str]) -> None:
    """Refresh planner statistics after a bulk load (autovacuum would, but later)."""
    names = ", ".join(f'"{table}"' for table in tables)
    await conn.execute(text(f"ANALYZE {names}"))
