"""``seed_synthetic_orders``: a realistic history, appended, with totals that add up
(``ecommerce seed --orders``: tests/e2e/test_order_history_cli.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.database import Database
from ecommerce.devtools.synthetic_orders import (
    HISTORY_DAYS,
    ORDERS_PER_CUSTOMER,
    seed_synthetic_orders,
)
from ecommerce.models import Order, OrderLine, OrderStatus, Product, User
from tests.support.factories import create_product


@pytest.fixture
async def catalog(admin_engine: AsyncEngine) -> None:
    await create_product(admin_engine, "MUG-01", "Mug", 1200, stock=7)
    await create_product(admin_engine, "TEE-01", "T-shirt, black", 2500, stock=0)
    await create_product(admin_engine, "CAP-01", "Cap", 1999, stock=3)
    await create_product(admin_engine, "PEN-01", "Pen", 150, stock=40)


async def test_seeds_a_consistent_history(
    catalog: None, database: Database, admin_engine: AsyncEngine
) -> None:
    progress: list[tuple[str, int, int]] = []
    now = datetime.now(UTC)
    summary = await seed_synthetic_orders(
        database,
        500,
        currency="USD",
        batch_size=120,  # several batches, the last one partial
        seed=7,
        now=now,
        progress=lambda *step: progress.append(step),
    )

    customers = math.ceil(500 / ORDERS_PER_CUSTOMER)
    assert (summary.orders, summary.customers) == (500, customers)
    assert progress[-1] == ("orders", 500, 500)
    assert ("customers", customers, customers) in progress
    assert summary.rows == summary.customers + summary.orders + summary.lines
    assert summary.seconds > 0

    async with admin_engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(Order)) == 500
        assert await conn.scalar(select(func.count()).select_from(User)) == customers
        lines = await conn.scalar(select(func.count()).select_from(OrderLine))
        assert lines == summary.lines
        statuses = dict(
            (await conn.execute(select(Order.status, func.count()).group_by(Order.status))).all()
        )
        # Every order's total is the sum of its 1 to 5 lines, at the catalog's prices.
        bad_totals = await conn.scalar(
            text(
                'SELECT count(*) FROM "order" o WHERE o.total <> '
                "(SELECT sum(line_total) FROM order_line WHERE order_id = o.id) "
                "OR (SELECT count(*) FROM order_line WHERE order_id = o.id) NOT BETWEEN 1 AND 5"
            )
        )
        bad_prices = await conn.scalar(
            text(
                "SELECT count(*) FROM order_line l JOIN product p ON p.id = l.product_id "
                "WHERE l.unit_price <> p.price OR l.line_total <> l.unit_price * l.quantity "
                "OR l.sku <> p.sku OR l.name <> p.name"
            )
        )
        oldest, newest = (
            await conn.execute(select(func.min(Order.created_at), func.max(Order.created_at)))
        ).one()
        # Ids follow time, as in a live shop.
        out_of_order = await conn.scalar(
            text(
                "SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (ORDER BY id) "
                'AS earlier FROM "order") t WHERE earlier'
            )
        )
        late_updates = await conn.scalar(
            select(func.count()).where(
                (Order.updated_at < Order.created_at) | (Order.updated_at > now)
            )
        )
        stock = dict((await conn.execute(select(Product.sku, Product.stock))).all())

    assert statuses == dict(summary.statuses)
    assert set(statuses) <= {"shipped", "paid", "cancelled", "payment_failed"}  # no pending
    assert statuses["shipped"] > 500 * 0.6
    assert statuses["payment_failed"] > 0 and statuses["cancelled"] > 0
    assert bad_totals == 0 and bad_prices == 0
    assert oldest >= now - timedelta(days=HISTORY_DAYS) and newest < now
    assert out_of_order == 0 and late_updates == 0
    # History does not move stock.
    assert stock == {"MUG-01": 7, "TEE-01": 0, "CAP-01": 3, "PEN-01": 40}


async def test_payment_fields_match_the_status(
    catalog: None, database: Database, admin_engine: AsyncEngine
) -> None:
    await seed_synthetic_orders(database, 300, currency="USD", seed=3)
    async with admin_engine.connect() as conn:
        rows = (
            await conn.execute(
                select(Order.status, Order.charge_id, Order.payment_status, Order.refund_id)
            )
        ).all()
    for status, charge_id, payment_status, refund_id in rows:
        if status == OrderStatus.PAYMENT_FAILED:
            assert (charge_id, payment_status, refund_id) == (None, "declined", None)
        elif status == OrderStatus.CANCELLED:
            assert charge_id and refund_id and payment_status == "refunded"
        else:
            assert charge_id and payment_status == "succeeded" and refund_id is None


async def test_running_twice_appends(
    catalog: None, database: Database, admin_engine: AsyncEngine
) -> None:
    first = await seed_synthetic_orders(database, 40, currency="USD")
    second = await seed_synthetic_orders(database, 40, currency="USD")
    async with admin_engine.connect() as conn:
        orders = await conn.scalar(select(func.count()).select_from(Order))
        users = await conn.scalar(select(func.count(func.distinct(func.lower(User.email)))))
    assert orders == 80
    assert users == first.customers + second.customers


async def test_needs_a_catalog_in_the_currency(catalog: None, database: Database) -> None:
    with pytest.raises(ValueError, match="no active product priced in EUR"):
        await seed_synthetic_orders(database, 10, currency="EUR")
