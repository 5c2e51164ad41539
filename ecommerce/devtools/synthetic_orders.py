"""A large, realistic order history for demos and benchmarks (``ecommerce seed --orders N``).

What it writes, appended to whatever is there (running it twice doubles the history):

- customers, about one per ``ORDERS_PER_CUSTOMER`` orders, all with the same password
  (``CUSTOMER_PASSWORD``): one argon2 hash is computed once and reused, because hashing a
  million passwords would take hours and prove nothing;
- orders spread evenly over the last ``HISTORY_DAYS`` days, ids ascending with time,
  1 to 5 lines each at the current catalog prices, with statuses in realistic shares:
  mostly shipped, some paid (only recent ones: older paid orders have shipped), some
  refunded (cancelled) and some declined (payment_failed). No ``pending`` order: pending
  is a transient state of a checkout in flight, and the reconciler would settle old
  pending orders as failed and return their stock;
- no stock movement: this is history, the current stock stays what it is.

Rows go in with binary COPY in batches, one transaction per batch (an interrupted run
keeps the batches already committed). The next batch is generated in a worker thread
while the current one is copied, so Python and PostgreSQL work at the same time.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import anyio
from sqlalchemy.ext.asyncio import AsyncConnection

from ecommerce.core.database import Database
from ecommerce.core.security import hash_password
from ecommerce.devtools.bulk_copy import (
    ORDER_COLUMNS,
    ORDER_LINE_COLUMNS,
    USER_COLUMNS,
    Record,
    active_catalog,
    analyze,
    copy_records,
    reserve_ids,
)
from ecommerce.models import OrderStatus

HISTORY_DAYS = 182
ORDERS_PER_CUSTOMER = 8
CUSTOMER_PASSWORD = "customer-password"  # noqa: S105 - documented demo password
DEFAULT_BATCH_SIZE = 10_000
# An order paid longer ago than this has shipped by now.
SHIPPING_DELAY = timedelta(days=10)

# Shares in percent. Lookup tables of 100 entries make each draw one random() call.
STATUS_SHARES = {
    OrderStatus.SHIPPED: 78,
    OrderStatus.PAID: 6,
    OrderStatus.CANCELLED: 6,
    OrderStatus.PAYMENT_FAILED: 10,
}
LINE_COUNT_SHARES = {1: 40, 2: 27, 3: 17, 4: 10, 5: 6}
QUANTITY_SHARES = {1: 72, 2: 18, 3: 6, 4: 3, 5: 1}

FIRST_NAMES = (
    "Ada", "Alan", "Grace", "Linus", "Margaret", "Ken", "Barbara", "Dennis", "Frances",
    "Edsger", "Radia", "Tim", "Hedy", "Donald", "Katherine", "Guido", "Sophie", "Bjarne",
)  # fmt: skip
LAST_NAMES = (
    "Lovelace", "Turing", "Hopper", "Torvalds", "Hamilton", "Thompson", "Liskov",
    "Ritchie", "Allen", "Dijkstra", "Perlman", "Berners-Lee", "Lamarr", "Knuth",
    "Johnson", "van Rossum", "Wilson", "Stroustrup",
)  # fmt: skip

ProgressCallback = Callable[[str, int, int], None]
"""Called with (phase, done, total); phase is ``"customers"`` or ``"orders"``."""


T = TypeVar("T")


def _table(shares: dict[T, int]) -> list[T]:
    assert sum(shares.values()) == 100
    return [value for value, share in shares.items() for _ in range(share)]


_STATUS_TABLE: list[str] = [str(status) for status in _table(STATUS_SHARES)]
_LINE_COUNT_TABLE = _table(LINE_COUNT_SHARES)
_QUANTITY_TABLE = _table(QUANTITY_SHARES)


@dataclass(frozen=True)
class CatalogItem:
    id: int
    sku: str
    name: str
    price: int


@dataclass
class SyntheticOrdersSummary:
    customers: int = 0
    orders: int = 0
    lines: int = 0
    seconds: float = 0.0
    statuses: Counter[str] = field(default_factory=Counter)

    @property
    def rows(self) -> int:
        return self.customers + self.orders + self.lines

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class OrderBatch:
    orders: list[Record]
    lines: list[Record]
    statuses: Counter[str]


class SyntheticOrderGenerator:
    """Builds COPY records; pure CPU, no I/O, so it can run in a worker thread.

    Order number ``k`` of ``total`` is placed at ``start + span * (k + u) / total`` with
    ``u`` uniform in [0, 1): times increase with ``k``, so ids (reserved in order)
    increase with time as they do in a live shop.
    """

    def __init__(
        self,
        catalog: Sequence[CatalogItem],
        customer_ids: Sequence[int],
        *,
        currency: str,
        total_orders: int,
        now: datetime,
        rng: random.Random,
    ) -> None:
        if not catalog:
            raise ValueError("the catalog has no active product to order")
        if not customer_ids:
            raise ValueError("no customer to place orders")
        self.catalog = list(catalog)
        # A long tail: the product at rank r sells in proportion to 1 / (r + 1) ** 0.8.
        self.cum_weights = list(
            itertools.accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(self.catalog)))
        )
        self.customer_ids = list(customer_ids)
        self.currency = currency
        self.total_orders = total_orders
        self.now = now
        self.start = now - timedelta(days=HISTORY_DAYS)
        self.span = (now - self.start).total_seconds()
        self.rng = rng

    def orders(self, order_ids: Sequence[int], first_index: int) -> OrderBatch:
        rng = self.rng
        random_ = rng.random
        orders: list[Record] = []
        lines: list[Record] = []
        statuses: Counter[str] = Counter()
        customers = self.customer_ids
        n_customers = len(customers)
        step = self.span / self.total_orders
        for offset, order_id in enumerate(order_ids):
            created = self.start + timedelta(seconds=step * (first_index + offset + random_()))
            status = _STATUS_TABLE[int(random_() * 100)]
            if status == OrderStatus.PAID and self.now - created > SHIPPING_DELAY:
                status = OrderStatus.SHIPPED
            # Squaring skews orders toward the first customers: regulars order more.
            user_id = customers[int(n_customers * random_() ** 2)]
            n_lines = _LINE_COUNT_TABLE[int(random_() * 100)]
            picked = dict.fromkeys(
                rng.choices(self.catalog, cum_weights=self.cum_weights, k=n_lines)
            )
            total = 0
            for item in picked:
                quantity = _QUANTITY_TABLE[int(random_() * 100)]
                line_total = item.price * quantity
                total += line_total
                lines.append(
                    (order_id, item.id, item.sku, item.name, item.price, quantity, line_total)
                )
            orders.append(
                (
                    order_id,
                    user_id,
                    status,
                    total,
                    self.currency,
                    *self._payment(order_id, status),
                    created,
                    self._updated_at(created, status),
                    total,
                )
            )
            statuses[status] += 1
        return OrderBatch(orders, lines, statuses)

    def _payment(self, order_id: int, status: str) -> tuple[str | None, str | None, str | None]:
        """(charge_id, payment_status, refund_id), recognisable as generated."""
        if status == OrderStatus.PAYMENT_FAILED:
            return None, "declined", None
        charge = f"ch_hist_{order_id}"
        if status == OrderStatus.CANCELLED:
            return charge, "refunded", f"re_hist_{order_id}"
        return charge, "succeeded", None

    def _updated_at(self, created: datetime, status: str) -> datetime:
        if status == OrderStatus.SHIPPED:
            later = created + timedelta(hours=12 + 84 * self.rng.random())
        elif status == OrderStatus.CANCELLED:
            later = created + timedelta(hours=1 + 71 * self.rng.random())
        else:  # paid or declined: settled by the checkout itself, seconds later
            later = created + timedelta(seconds=1 + 2 * self.rng.random())
        return min(later, self.now)


def customer_records(
    ids: Sequence[int], first_number: int, run: str, password_hash: str, before: datetime
) -> list[Record]:
    """Customers with unique e-mails (``run`` tags this run), created before ``before``."""
    records: list[Record] = []
    for offset, user_id in enumerate(ids):
        number = first_number + offset
        first = FIRST_NAMES[number % len(FIRST_NAMES)]
        last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
        local = f"{first}.{last}".lower().replace(" ", "")
        email = f"{local}.{run}.{number}@example.com"
        created = before - timedelta(days=30 + number % 365)
        records.append((user_id, email, password_hash, f"{first} {last}", False, created))
    return records


def _batches(total: int, size: int) -> list[int]:
    return [min(size, total - done) for done in range(0, total, size)]


async def _insert_customers(
    conn: AsyncConnection,
    count: int,
    *,
    batch_size: int,
    before: datetime,
    progress: ProgressCallback,
) -> list[int]:
    # Hashed once (off the event loop, like every hash): argon2 is deliberately slow.
    password_hash = await hash_password(CUSTOMER_PASSWORD)
    run = f"{random.getrandbits(32):08x}"
    customer_ids: list[int] = []
    for size in _batches(count, batch_size):
        ids = await reserve_ids(conn, "user", size)
        records = customer_records(ids, len(customer_ids), run, password_hash, before)
        await copy_records(conn, "user", USER_COLUMNS, records)
        await conn.commit()
        customer_ids.extend(ids)
        progress("customers", len(customer_ids), count)
    return customer_ids


async def seed_synthetic_orders(
    database: Database,
    orders: int,
    *,
    currency: str,
    customers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    seed: int | None = None,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> SyntheticOrdersSummary:
    """Append ``orders`` generated orders (and their customers) to the database.

    Prices come from the active products priced in ``currency``; raises ``ValueError``
    when there is none (seed the catalog first). ``seed`` makes the history reproducible
    (ids aside). Returns counts and timing for the caller's summary.
    """
    if orders < 1:
        raise ValueError("orders must be at least 1")
    report = progress or (lambda phase, done, total: None)
    now = now or datetime.now(UTC)
    customers = customers or max(1, math.ceil(orders / ORDERS_PER_CUSTOMER))
    started = time.perf_counter()
    summary = SyntheticOrdersSummary()

    async with database.monitored_connection() as conn:
        catalog = [CatalogItem(*row) for row in await active_catalog(conn, currency)]
        await conn.commit()
        if not catalog:
            raise ValueError(f"no active product priced in {currency}: seed the catalog first")

        start = now - timedelta(days=HISTORY_DAYS)
        customer_ids = await _insert_customers(
            conn, customers, batch_size=batch_size, before=start, progress=report
        )
        summary.customers = len(customer_ids)

        generator = SyntheticOrderGenerator(
            catalog,
            customer_ids,
            currency=currency,
            total_orders=orders,
            now=now,
            rng=random.Random(seed),
        )
        sizes = _batches(orders, batch_size)
        first_ids = await reserve_ids(conn, "order", sizes[0])
        pending: asyncio.Task[OrderBatch] | None = asyncio.create_task(
            anyio.to_thread.run_sync(generator.orders, first_ids, 0)
        )
        try:
            for index in range(len(sizes)):
                assert pending is not None
                batch = await pending
                pending = None
                if index + 1 < len(sizes):
                    # Reserve the next ids now, on this connection, before the COPY uses it.
                    next_ids = await reserve_ids(conn, "order", sizes[index + 1])
                    first = summary.orders + len(batch.orders)
                    pending = asyncio.create_task(
                        anyio.to_thread.run_sync(generator.orders, next_ids, first)
                    )
                await copy_records(conn, "order", ORDER_COLUMNS, batch.orders)
                await copy_records(conn, "order_line", ORDER_LINE_COLUMNS, batch.lines)
                await conn.commit()
                summary.orders += len(batch.orders)
                summary.lines += len(batch.lines)
                summary.statuses.update(batch.statuses)
                report("orders", summary.orders, orders)
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending

        # Fresh statistics, so the first reports and exports get good plans.
        await analyze(conn, ("user", "order", "order_line"))
        await conn.commit()

    summary.seconds = time.perf_counter() - started
    return summary
