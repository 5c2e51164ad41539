"""The floor under the checkout figure: the checkout's own SQL on raw asyncpg, no HTTP.

    .venv/bin/python bench/checkout_floor.py          # after `make bench` seeded its data

Issue 11 asks checkout to reach 0.25x the baseline's by-id rate. This measures what the
database work alone allows on this machine: two processes (like the two gunicorn
workers), each with a pool of 10 connections and 32 concurrent tasks, replay the round
trips of one direct order (one line, signed in, no gateway call) using the service's
own compiled statements (order insert, the two moves, the two events) and the same
simple ones around them, and, in the same harness, the baseline's one-query by-id read.
It prints both rates and their ratio; it asserts nothing.

Environment: FLOOR_SECONDS=10, FLOOR_TASKS=32 (per process), FLOOR_POOL=10 (per process).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.adapters.persistence.queries import Queries
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

from ecommerce.models import OrderStatus
from ecommerce.repositories import event as event_repo
from ecommerce.repositories import order as order_repo
from ecommerce.services.order_state import TRANSITIONS, OrderEvent

DIALECT = asyncpg_dialect.dialect()  # type: ignore[no-untyped-call]
FLOOR_DATABASE = "ecommerce_bench_floor"
AUTH = 'SELECT id, email, full_name, is_admin, token_version FROM "user" WHERE id = $1'
LOCK_PRODUCTS = "SELECT * FROM product WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
RESERVE = (
    "UPDATE product SET stock = stock - w.q, updated_at = now() "
    "FROM (VALUES ($1::bigint, $2::int)) AS w(id, q) "
    "WHERE product.id = w.id AND product.is_active AND product.stock >= w.q RETURNING product.id"
)
PRICING = (
    "SELECT tax_rate.rate_bps FROM (SELECT 1) AS one "
    "LEFT OUTER JOIN tax_rate ON tax_rate.country = $1"
)
GATE = (
    "SELECT pg_advisory_xact_lock(24189, $1::int), limit_counter.hits FROM (SELECT 1) AS one "
    "LEFT OUTER JOIN limit_counter ON limit_counter.key = $2 AND limit_counter.expires_at > now()"
)
BY_ID = (
    "SELECT id, sku, name, description, price, currency, stock, is_active, created_at, "
    "updated_at FROM product WHERE is_active AND id = $1"
)


class Compiled:
    """One of the service's statements as its asyncpg dialect sends it, expanded once
    (``IN`` lists rendered) with ``sample`` values; each call only orders its values."""

    def __init__(self, statement: Any, sample: dict[str, Any]) -> None:
        expanded = statement.compile(dialect=DIALECT).construct_expanded_state(sample)
        self.sql: str = expanded.statement
        self.names: list[str] = list(expanded.positiontup or ())
        self.constants: dict[str, Any] = dict(expanded.parameters)

    def args(self, params: dict[str, Any]) -> list[Any]:
        values = self.constants | params
        return [values[name] for name in self.names]


def moves() -> tuple[Compiled, Compiled]:
    def move(event: OrderEvent, with_items: bool, bound: tuple[str, ...]) -> Compiled:
        t = TRANSITIONS[event]
        shape = (t.from_status, t.from_payment, t.to_status, t.to_payment)
        clock = event is OrderEvent.CHARGE_STARTED
        statement = order_repo._cached_transition(*shape, clock, with_items, bound)
        return Compiled(statement, {"order_id": 0} | {f"value_{n}": "" for n in bound})

    return move(OrderEvent.CHARGE_STARTED, False, ()), move(
        OrderEvent.CHARGE_SUCCEEDED, True, ("charge_id",)
    )


async def checkout(conn: asyncpg.Connection, user_id: int, product_id: int, s: Any) -> None:
    insert, charging, paid, created_event, paid_event = s
    await conn.fetchrow(AUTH, user_id)
    async with conn.transaction():
        await conn.fetch(LOCK_PRODUCTS, [product_id])
        await conn.fetch(RESERVE, product_id, 1)
        await conn.fetchrow(PRICING, "US")
        await conn.fetchrow(GATE, user_id, f"decline:user:{user_id}")
        params = _order(user_id, product_id)
        rows = await conn.fetch(insert.sql, *insert.args(params))
        order_id = rows[0][0]
        await conn.fetch(created_event.sql, *created_event.args(_event(order_id)))
    async with conn.transaction():
        await conn.fetch(charging.sql, *charging.args({"order_id": order_id}))
    async with conn.transaction():
        await conn.fetch(paid.sql, *paid.args({"order_id": order_id, "value_charge_id": "ch"}))
        await conn.fetch(paid_event.sql, *paid_event.args(_event(order_id) | _email(user_id)))
        await Queries(AsyncpgDriver(conn)).enqueue(
            ["email.send"], [json.dumps({"id": order_id}).encode()], [0]
        )


def _order(user_id: int, product_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id, "status": OrderStatus.PENDING.value, "currency": "USD",
        "total": 100, "subtotal": 100, "discount_total": 0, "shipping_total": 0,
        "tax_total": 0, "shipping_tax": 0, "email": None, "shipping_address": None,
        "billing_address": None, "shipping_method": None, "shipping_price": None,
        "discount_code": None, "payment_key": uuid.uuid4(), "pending_cap": 1_000_000,
        "lines_product_id": [product_id], "lines_sku": ["SKU"], "lines_name": ["Name"],
        "lines_unit_price": [100], "lines_quantity": [1], "lines_line_total": [100],
        "lines_discount_amount": [0], "lines_tax_amount": [0],
    }  # fmt: skip


def _email(user_id: int) -> dict[str, Any]:
    return {"message_id": uuid.uuid4().hex, "kind": "order_confirmation",
            "to_address": None, "user_id": user_id}  # fmt: skip


def _event(order_id: int) -> dict[str, Any]:
    payload = {"id": "evt", "type": "order.paid", "created_at": datetime.now(UTC).isoformat(),
               "data": {"id": order_id}}  # fmt: skip
    return {"event_id": "evt_" + uuid.uuid4().hex, "type": "order.paid",
            "order_id": order_id, "payload": json.dumps(payload)}  # fmt: skip


async def _run(mode: str, dsn: str, users: list[int], products: list[int]) -> int:
    seconds = float(os.environ.get("FLOOR_SECONDS", 10))
    tasks = int(os.environ.get("FLOOR_TASKS", 32))
    pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=int(os.environ.get("FLOOR_POOL", 10))
    )
    charging, paid = moves()
    statements = (
        Compiled(order_repo._insert_statement(True), _order(0, 0)), charging, paid,
        Compiled(event_repo._record_statement(False), _event(0)),
        Compiled(event_repo._record_statement(True), _event(0) | _email(0)),
    )  # fmt: skip
    done = 0
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            async with pool.acquire() as conn:
                if mode == "checkout":
                    await checkout(conn, random.choice(users), random.choice(products), statements)
                else:
                    await conn.fetchrow(BY_ID, random.choice(products))
            done += 1

    await asyncio.gather(*(loop() for _ in range(tasks)))
    await pool.close()
    return done


def _worker(mode: str, dsn: str, users: list[int], products: list[int], out: Any) -> None:
    out.put(asyncio.run(_run(mode, dsn, users, products)))


def measure(mode: str, dsn: str, users: list[int], products: list[int]) -> float:
    out: Any = multiprocessing.Queue()
    processes = [
        multiprocessing.Process(target=_worker, args=(mode, dsn, users, products, out))
        for _ in range(2)
    ]
    started = time.monotonic()
    for process in processes:
        process.start()
    total: int = sum(out.get() for _ in processes)
    for process in processes:
        process.join()
    return total / (time.monotonic() - started)


async def _ids(dsn: str) -> tuple[list[int], list[int]]:
    conn = await asyncpg.connect(dsn)
    try:
        users = [r[0] for r in await conn.fetch('SELECT id FROM "user" WHERE NOT is_admin')]
        products = [r[0] for r in await conn.fetch("SELECT id FROM product WHERE is_active")]
    finally:
        await conn.close()
    return users, products


async def _copy(dsn: str, source: str, copy: str, *, drop_only: bool = False) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{copy}"')
        if not drop_only:  # a copy: the orders, events and jobs written go with it
            await conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{source}"')
    finally:
        await conn.close()


def main() -> None:
    url = harness.database_url()
    harness.prepare_data(url)
    source_dsn = harness.asyncpg_dsn(url)
    base, _, rest = source_dsn.partition(f"/{harness.DATABASE}")
    dsn = f"{base}/{FLOOR_DATABASE}{rest}"
    asyncio.run(_copy(f"{base}/postgres{rest}", harness.DATABASE, FLOOR_DATABASE))
    try:
        users, products = asyncio.run(_ids(dsn))
        print(f"{len(products):,} products, {len(users)} customers; 2 processes", flush=True)
        by_id = measure("by_id", dsn, users, products)
        print(f"  by-id read (1 round trip):            {by_id:9.1f} /s", flush=True)
        orders = measure("checkout", dsn, users, products)
        print(f"  checkout's SQL (17 round trips):      {orders:9.1f} /s", flush=True)
        print(f"  ratio checkout/by-id, database only:  {orders / by_id:9.3f}x")
    finally:
        asyncio.run(_copy(f"{base}/postgres{rest}", "", FLOOR_DATABASE, drop_only=True))


if __name__ == "__main__":
    main()
