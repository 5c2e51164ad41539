"""Product search (`q`) on 100,000 products: which plan, how fast.

    .venv/bin/python bench/catalog_search.py [--rows 100000]

Uses a scratch database ``ecommerce_bench`` on the embedded PostgreSQL under ./.data
(or ECOMMERCE_BENCH_DATABASE_URL), migrates it, fills it, runs VACUUM ANALYZE (what
autovacuum does on a live database), then EXPLAIN ANALYZE of the exact statement the
listing endpoint runs (first page, 20 rows), for terms from rare to common. For
comparison it runs each query again with index scans disabled. It prints numbers; it
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import time
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ecommerce.core.embedded_postgres import create_database, server_url, start_server
from ecommerce.core.paging import PageRequest
from ecommerce.launcher import migrate
from ecommerce.repositories.pagination import page_statement
from ecommerce.repositories.product import search_statement

ROOT = Path(__file__).resolve().parent.parent
TERMS = ["#99999", "bn-0004242", "waxed canvas", "hoodie", "navy", "zzzz", "ha"]

FILL = """
INSERT INTO product (sku, name, description, price, currency, stock)
SELECT
  'BN-' || lpad(i::text, 7, '0'),
  (ARRAY['Classic','Organic','Waxed','Merino','Recycled','Vintage','Heavy','Light',
         'Slim','Relaxed','Quilted','Ribbed','Brushed','Technical','Everyday','Premium',
         'Canvas'])[1 + i % 17]
  || ' ' ||
  (ARRAY['T-shirt','Hoodie','Jacket','Sweater','Shirt','Trousers','Shorts','Cap','Scarf',
         'Sneaker','Boot','Backpack','Wallet','Belt','Socks','Gloves','Beanie','Parka',
         'Vest','Dress','Skirt','Blazer','Tote'])[1 + (i / 17) % 23]
  || ', ' ||
  (ARRAY['black','navy','olive','grey','white','red','sand','forest','rust','sky',
         'plum'])[1 + (i / 391) % 11]
  || ' #' || i,
  'Generated for the search benchmark.',
  100 + i % 50000, 'USD', i % 40
FROM generate_series(1, :rows) AS i
"""


async def database_url() -> str:
    url = os.environ.get("ECOMMERCE_BENCH_DATABASE_URL")
    if url:
        return url
    socket_dir, port = await asyncio.to_thread(start_server, ROOT / ".data")
    await create_database(socket_dir, port, "ecommerce_bench")
    return server_url(socket_dir, port, "ecommerce_bench")


async def fill(engine: AsyncEngine, rows: int) -> None:
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text("TRUNCATE product RESTART IDENTITY CASCADE"))
        await conn.execute(text(FILL), {"rows": rows})
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE product"))
    print(f"filled {rows:,} products in {time.perf_counter() - started:.1f}s\n")


def _number(pattern: str, text: str) -> float:
    match = re.search(pattern, text)
    assert match is not None, text
    return float(match.group(1))


async def explain(engine: AsyncEngine, q: str, *, indexes: bool) -> tuple[str, float, int]:
    statement = page_statement(search_statement(q, is_active=True), PageRequest(20))
    sql = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
    async with engine.begin() as conn:
        if not indexes:
            await conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            await conn.execute(text("SET LOCAL enable_indexscan = off"))
        plan = list((await conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"))).scalars())
    joined = "\n".join(plan)
    scans = sorted(
        set(re.findall(r"Seq Scan|Bitmap Index Scan on \w+|Index Scan using \w+", joined))
    )
    total = _number(r"Execution Time: ([\d.]+) ms", joined)
    rows = int(_number(r"actual time=[\d.]+\.\.[\d.]+ rows=([\d.]+)", plan[0]))
    return ", ".join(scans), total, rows


async def main(rows: int) -> None:
    url = await database_url()
    await asyncio.to_thread(migrate, url)
    engine = create_async_engine(url)
    try:
        await fill(engine, rows)
        print(f"{'q':<16}{'rows':>6}{'planned':>12}{'no index':>12}  plan")
        for q in TERMS:
            plan, planned_ms, found = await explain(engine, q, indexes=True)
            _, seq_ms, _ = await explain(engine, q, indexes=False)
            print(f"{q!r:<16}{found:>6}{planned_ms:>10.2f}ms{seq_ms:>10.2f}ms  {plan}")
    finally:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    asyncio.run(main(parser.parse_args().rows))
