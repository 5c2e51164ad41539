"""Webhook delivery latency: from the commit of an order change to the receiver.

    .venv/bin/python bench/webhook_latency.py [--events N] [--interval S] [--burst]

Uses a database of its own, ``ecommerce_bench_events`` on the embedded PostgreSQL under
./.data, made anew each run (or ECOMMERCE_BENCH_DATABASE_URL, emptied of orders and
events first). It starts
a real aiohttp receiver on a free loopback port, subscribes it to ``order.paid``, makes N
pending orders, and runs the job consumer as a web worker does (in process, same event
loop, LISTEN/NOTIFY wake-ups). Then, for each order, one transaction records its
``order.paid`` event (``record_order_event``, as the state machine does) and commits;
the latency is from the moment the commit returned to the moment the receiver got the
signed POST. Paced (one event every ``--interval`` seconds) by default; ``--burst``
commits all of them at once from 20 concurrent tasks. Prints p50/p90/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.embedded_postgres import create_database, server_url, start_server
from ecommerce.launcher import migrate
from ecommerce.models import EventType, Order, OrderLine, Product, User
from ecommerce.repositories import event as event_repository
from ecommerce.repositories import order as order_repository
from ecommerce.services.consumer import consuming
from ecommerce.services.events import record_order_event
from ecommerce.services.webhooks import new_secret

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "ecommerce_bench_events"
BURST_TASKS = 20


async def database_url() -> str:
    url = os.environ.get("ECOMMERCE_BENCH_DATABASE_URL")
    if url:
        return url
    socket_dir, port = await asyncio.to_thread(start_server, ROOT / ".data")
    # Made anew each run: a throwaway database, migrated from scratch.
    import asyncpg

    conn = await asyncpg.connect(host=socket_dir, port=port, user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()
    await create_database(socket_dir, port, DATABASE)
    return server_url(socket_dir, port, DATABASE)


async def prepare(database: Database, count: int) -> list[int]:
    async with database.transaction() as session:
        await session.execute(
            text(
                'TRUNCATE "order", order_line, event, webhook_delivery, webhook_endpoint, '
                'email_message, pgqueuer, pgqueuer_log, product, "user" CASCADE'
            )
        )
        # Never signs in: no usable password hash.
        user = User(email="bench@example.com", hashed_password="!", full_name="Bench")  # noqa: S106
        product = Product(sku="BENCH-1", name="Bench mug", price=1000, currency="USD", stock=0)
        session.add_all([user, product])
        await session.flush()
        orders = [
            Order(
                user_id=user.id,
                status="pending",
                total=1000,
                currency="USD",
                items=[
                    OrderLine(
                        product_id=product.id,
                        sku=product.sku,
                        name=product.name,
                        unit_price=1000,
                        quantity=1,
                        line_total=1000,
                    )
                ],
            )
            for _ in range(count)
        ]
        session.add_all(orders)
        await session.flush()
        return [order.id for order in orders]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--interval", type=float, default=0.02)
    parser.add_argument("--burst", action="store_true")
    args = parser.parse_args()

    url = await database_url()
    await asyncio.to_thread(migrate, url)
    settings = Settings(_env_file=None, database_url=url, log_level="WARNING")
    database = Database.connect(settings, url)

    arrived: dict[str, float] = {}
    done = asyncio.Event()

    async def receive(request: web.Request) -> web.Response:
        arrived[request.headers["webhook-id"]] = time.perf_counter()
        if len(arrived) >= args.events:
            done.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    order_ids = await prepare(database, args.events)
    async with database.transaction() as session:
        await event_repository.add_endpoint(
            session,
            url=f"http://127.0.0.1:{port}/hook",
            events=["order.paid"],
            secret=new_secret(),
        )

    committed: dict[str, float] = {}

    async def publish(order_id: int) -> None:
        async with database.transaction() as session:
            order = await order_repository.get(session, order_id)
            assert order is not None
            recorded = await record_order_event(session, order, EventType.ORDER_PAID)
        committed[recorded.event_id] = time.perf_counter()

    async with consuming(settings, database, url):
        await asyncio.sleep(1.0)  # the consumer is listening
        started = time.perf_counter()
        if args.burst:
            queue = list(order_ids)

            async def producer() -> None:
                while queue:
                    await publish(queue.pop())

            await asyncio.gather(*(producer() for _ in range(BURST_TASKS)))
        else:
            for order_id in order_ids:
                await publish(order_id)
                await asyncio.sleep(args.interval)
        produced = time.perf_counter() - started
        await asyncio.wait_for(done.wait(), timeout=120)
        elapsed = time.perf_counter() - started
    await runner.cleanup()
    await database.dispose()

    latencies = sorted((arrived[key] - committed[key]) * 1000 for key in committed)
    cuts = statistics.quantiles(latencies, n=100)
    mode = (
        f"burst of {args.events} from {BURST_TASKS} tasks"
        if args.burst
        else (f"{args.events} events, one every {args.interval * 1000:.0f} ms")
    )
    print(
        f"webhook latency, commit -> receiver ({mode}; committed in {produced:.1f} s, "
        f"all delivered after {elapsed:.1f} s):"
    )
    print(
        f"  p50 {cuts[49]:.1f} ms   p90 {cuts[89]:.1f} ms   p99 {cuts[98]:.1f} ms   "
        f"max {latencies[-1]:.1f} ms   (n={len(latencies)})"
    )


if __name__ == "__main__":
    asyncio.run(main())
