"""Memory and speed of the full order export, served by a real gunicorn worker.

    .venv/bin/python bench/export_memory.py [N]        # N orders, default 1,000,000

Uses a database of its own, ``ecommerce_bench_export`` on the embedded PostgreSQL under
./.data (or ECOMMERCE_BENCH_DATABASE_URL). When it does not hold exactly N orders yet it
is emptied and filled: the demo catalog, then N orders with their customers
(``ecommerce seed --orders N``'s generator); a later run with the same N reuses them.
Then it starts gunicorn with one uvicorn worker on a free port, signs in as an admin,
measures the worker's RSS at rest, and streams the full export, NDJSON then CSV, while
a thread samples the worker's RSS every 10 ms. It prints the numbers; the goal is a peak
within 50 MB of the RSS at rest (the exit status says whether it was met).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select, text

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.embedded_postgres import create_database, server_url, start_server
from ecommerce.devtools.demo_catalog import seed_catalog
from ecommerce.devtools.synthetic_orders import seed_synthetic_orders
from ecommerce.launcher import migrate
from ecommerce.models import Order
from ecommerce.services.user import ensure_admin

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "ecommerce_bench_export"
ADMIN_EMAIL = "bench.admin@example.com"
ADMIN_PASSWORD = "bench-admin-password"  # noqa: S105 - a throwaway local database
JWT_SECRET = "bench-" + "s" * 40
GOAL_BYTES = 50 * 1024 * 1024
MB = 1024 * 1024


async def database_url() -> str:
    url = os.environ.get("ECOMMERCE_BENCH_DATABASE_URL")
    if url:
        return url
    socket_dir, port = await asyncio.to_thread(start_server, ROOT / ".data")
    await create_database(socket_dir, port, DATABASE)
    return server_url(socket_dir, port, DATABASE)


async def prepare(url: str, orders: int) -> None:
    """Make the database hold exactly ``orders`` generated orders, and the bench admin."""
    settings = Settings(_env_file=None, database_url=url, jwt_secret=JWT_SECRET)
    database = Database.connect(settings, url)
    try:
        async with database.session() as session:
            existing = await session.scalar(select(func.count()).select_from(Order))
            if existing != orders:
                print(f"filling the database: {existing:,} orders there, {orders:,} wanted")
                await session.execute(
                    text('TRUNCATE "order", order_line, idempotency_key, "user" CASCADE')
                )
                await seed_catalog(session, settings.currency)
            await ensure_admin(session, ADMIN_EMAIL, ADMIN_PASSWORD)
            await session.commit()
        if existing != orders:
            last = [0.0]

            def progress(phase: str, done: int, total: int) -> None:
                if time.monotonic() - last[0] > 5 or done == total:
                    last[0] = time.monotonic()
                    print(f"  {phase}: {done:,}/{total:,}", flush=True)

            summary = await seed_synthetic_orders(
                database, orders, currency=settings.currency, progress=progress
            )
            print(
                f"seeded {summary.customers:,} customers, {summary.orders:,} orders, "
                f"{summary.lines:,} lines in {summary.seconds:.1f} s "
                f"({summary.rows_per_second:,.0f} rows/s)"
            )
        else:
            print(f"reusing the {orders:,} orders already in {DATABASE}")
    finally:
        await database.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_gunicorn(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ECOMMERCE_DATABASE_URL": url,
        "ECOMMERCE_JWT_SECRET": JWT_SECRET,
        "ECOMMERCE_LOG_LEVEL": "WARNING",
    }
    args = [
        sys.executable, "-m", "gunicorn", "ecommerce.main:app",
        "-c", "gunicorn.conf.py",
        "-k", "uvicorn_worker.UvicornWorker",
        "-w", "1",
        "--bind", f"127.0.0.1:{port}",
        "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not become ready within 60 s")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class RssSampler:
    """Samples a process's resident set size on a thread until stopped."""

    def __init__(self, process: psutil.Process, interval: float = 0.01) -> None:
        self.process = process
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def rss_at_rest(process: psutil.Process, seconds: float = 1.0) -> int:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(process.memory_info().rss)
        time.sleep(0.05)
    return int(statistics.median(samples))


@dataclass
class Run:
    export_format: str
    rows: int
    size: int
    seconds: float
    rest: int
    peak: int

    @property
    def delta(self) -> int:
        return self.peak - self.rest


def export(http: httpx.Client, worker: psutil.Process, export_format: str, rest: int) -> Run:
    rows = size = 0
    started = time.perf_counter()
    with (
        RssSampler(worker) as sampler,
        http.stream("GET", "/api/v1/admin/orders/export", params={"format": export_format}) as r,
    ):
        r.raise_for_status()
        for chunk in r.iter_raw(65536):
            size += len(chunk)
            # Counts records; CSV fields may hold newlines, but the generated names do not.
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    if export_format == "csv":
        rows -= 1  # the header row
    return Run(export_format, rows, size, seconds, rest, sampler.peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("orders", nargs="?", type=int, default=1_000_000)
    args = parser.parse_args()

    url = asyncio.run(database_url())
    migrate(url)
    asyncio.run(prepare(url, args.orders))

    port = free_port()
    server = start_gunicorn(url, port)
    try:
        master = psutil.Process(server.pid)
        [worker] = master.children()
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            token = http.post(
                "/api/v1/auth/token", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            token.raise_for_status()
            http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
            # Warm up the routes (imports, compiled statements) without exporting.
            warm_up = {"start": "2025-01-01", "end": "2025-01-02"}
            http.get("/api/v1/admin/reports/sales", params=warm_up).raise_for_status()
            rest = rss_at_rest(worker)  # once, before any export: the stricter baseline
            runs = [export(http, worker, fmt, rest) for fmt in ("ndjson", "csv")]
    finally:
        stop(server)

    print(f"\nfull export of {args.orders:,} orders, gunicorn + 1 uvicorn worker")
    print("rows: orders for NDJSON, order lines for CSV; rest: the worker's RSS before")
    print(
        f"{'format':<7} {'rows':>10} {'MB':>8} {'s':>7} {'rows/s':>9} {'MB/s':>6} "
        f"{'rest MB':>8} {'peak MB':>8} {'delta MB':>9}"
    )
    for run in runs:
        print(
            f"{run.export_format:<7} {run.rows:>10,} {run.size / MB:>8.1f} {run.seconds:>7.1f} "
            f"{run.rows / run.seconds:>9,.0f} {run.size / MB / run.seconds:>6.1f} "
            f"{run.rest / MB:>8.1f} {run.peak / MB:>8.1f} {run.delta / MB:>9.1f}"
        )
    met = all(run.delta <= GOAL_BYTES for run in runs)
    print(f"goal (peak within 50 MB of rest): {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
