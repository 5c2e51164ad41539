"""What ``make bench`` stands on: the database and its data, the servers, the samplers.

Kept apart from the scenarios (``http_bench.py``) so each file reads on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import psutil
from prometheus_client.parser import text_string_to_metric_families

from ecommerce.core.config import FAKE_GATEWAY_API_KEY, Settings
from ecommerce.core.embedded_postgres import ensure_database
from ecommerce.core.metrics import LOOP_LAG_BUCKETS, LOOP_LAG_INTERVAL
from ecommerce.core.security import create_access_token, hash_password
from ecommerce.launcher import migrate

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".data" / "bench"
DATABASE = "ecommerce_bench"
JWT_SECRET = "bench-" + "s" * 40
PRODUCTS = 10_000
CUSTOMERS = 300
# Ample: a bench's checkouts never run a product out of stock.
STOCK = 1_000_000_000
# Product names carry one of these words (bench/wrk.lua searches for them).
WORDS = ("shirt", "mug", "lamp", "chair", "socks", "kettle", "scarf", "desk", "bottle", "pen")


def database_url() -> str:
    """ECOMMERCE_BENCH_DATABASE_URL, or a database of the bench's own on the embedded server."""
    url = os.environ.get("ECOMMERCE_BENCH_DATABASE_URL")
    if url:
        return url
    return ensure_database(ROOT / ".data", DATABASE)


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


@dataclass
class Data:
    product_ids: list[int]
    tokens: list[str]
    ids_file: Path
    tokens_file: Path


async def _seed(url: str) -> tuple[list[int], list[tuple[int, str]]]:
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        words = list(WORDS)
        await conn.execute(
            """
            INSERT INTO product (sku, name, description, price, currency, stock, is_active)
            SELECT 'BENCH-' || lpad(i::text, 5, '0'),
                   initcap(($1::text[])[1 + i % array_length($1::text[], 1)]) || ' model ' || i,
                   'A product of the benchmark catalog, number ' || i || '.',
                   100 + (i * 37) % 9900, 'USD', $2, true
            FROM generate_series(1, $3::int) AS i
            ON CONFLICT (sku) DO NOTHING
            """,
            words,
            STOCK,
            PRODUCTS,
        )
        # Earlier runs' orders would make order lists and totals drift from run to run.
        await conn.execute('TRUNCATE "order", idempotency_key CASCADE')
        await conn.execute(
            "UPDATE product SET stock = $1, is_active = true WHERE sku LIKE 'BENCH-%'", STOCK
        )
        hashed = await hash_password("bench-customer-password")
        await conn.execute(
            """
            INSERT INTO "user" (email, hashed_password, full_name, is_admin)
            SELECT 'bench.customer.' || i || '@example.com', $1, 'Customer ' || i, false
            FROM generate_series(1, $2::int) AS i
            ON CONFLICT DO NOTHING
            """,
            hashed,
            CUSTOMERS,
        )
        products = await conn.fetch("SELECT id FROM product WHERE sku LIKE 'BENCH-%' ORDER BY id")
        users = await conn.fetch(
            "SELECT id, email FROM \"user\" WHERE email LIKE 'bench.customer.%' ORDER BY id"
        )
        await conn.execute("VACUUM ANALYZE product")
        return [r["id"] for r in products], [(r["id"], r["email"]) for r in users]
    finally:
        await conn.close()


def prepare_data(url: str) -> Data:
    """Migrate, seed 10,000 products and a few hundred customers, write the wrk inputs."""
    migrate(url)
    product_ids, users = asyncio.run(_seed(url))
    settings = Settings(_env_file=None, jwt_secret=JWT_SECRET, access_token_ttl=7 * 24 * 3600)
    tokens = [create_access_token(user_id, settings)[0] for user_id, _ in users]
    WORK.mkdir(parents=True, exist_ok=True)
    ids_file, tokens_file = WORK / "product_ids.txt", WORK / "tokens.txt"
    ids_file.write_text("".join(f"{i}\n" for i in product_ids))
    tokens_file.write_text("".join(f"{t}\n" for t in tokens))
    return Data(product_ids, tokens, ids_file, tokens_file)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} was not ready within {seconds:.0f} s")


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def workers(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _spawn(name: str, args: list[str], env: dict[str, str], port: int, ready: str) -> Server:
    log = WORK / f"{name}.log"
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True
        )
    server = Server(name, port, process, log)
    try:
        wait_ready(f"{server.base_url}{ready}", process)
    except BaseException:
        server.stop()
        raise
    return server


# Both apps get these: 2 workers, no recycling mid-run (a fresh worker's cold caches and
# start-up would land in one run and not the other), the same keep-alive.
WORKERS = 2


def start_gateway() -> Server:
    port = free_port()
    args = [sys.executable, "-m", "ecommerce.cli", "fake-gateway", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--api-key", FAKE_GATEWAY_API_KEY]
    return _spawn("gateway", args, dict(os.environ), port, "/health")


def start_service(
    url: str, gateway: Server, name: str = "service", extra_env: dict[str, str] | None = None
) -> Server:
    port = free_port()
    env = {
        **os.environ,
        "ECOMMERCE_DATABASE_URL": url,
        "ECOMMERCE_JWT_SECRET": JWT_SECRET,
        "ECOMMERCE_PAYMENT_GATEWAY_URL": gateway.base_url,
        "ECOMMERCE_PAYMENT_GATEWAY_API_KEY": FAKE_GATEWAY_API_KEY,
        "ECOMMERCE_WORKERS": str(WORKERS),
        "ECOMMERCE_BIND": f"127.0.0.1:{port}",
        "ECOMMERCE_MAX_REQUESTS": "0",
        "ECOMMERCE_MAX_REQUESTS_JITTER": "0",
        # Production's logging: one JSON access line per request, written to a file.
        "ECOMMERCE_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
        "ECOMMERCE_LOG_JSON": "true",
        **(extra_env or {}),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the service makes a private one
    args = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    return _spawn(name, args, env, port, "/health/ready")


BASELINE_LAG_DIR = WORK / "baseline-lag"


def start_baseline(url: str) -> Server:
    port = free_port()
    shutil.rmtree(BASELINE_LAG_DIR, ignore_errors=True)
    BASELINE_LAG_DIR.mkdir(parents=True)
    env = {
        **os.environ,
        "BASELINE_DATABASE_URL": url,
        "BASELINE_LAG_DIR": str(BASELINE_LAG_DIR),
        "BASELINE_LAG_INTERVAL": str(LOOP_LAG_INTERVAL),
    }
    args = [
        sys.executable, "-m", "gunicorn", "baseline:app",
        "--pythonpath", str(ROOT / "bench"),
        "-k", "uvicorn_worker.UvicornWorker",
        "-w", str(WORKERS),
        "--bind", f"127.0.0.1:{port}",
        "--keep-alive", "5",
        "--max-requests", "0",
        "--worker-tmp-dir", "/dev/shm",  # noqa: S108 - as the service's gunicorn config
        "--log-level", "warning",
    ]  # fmt: skip
    return _spawn("baseline", args, env, port, "/health/ready")


@dataclass
class RssPeaks:
    """Peak resident set size per worker pid while the block runs (sampled every 100 ms)."""

    server: Server
    peaks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def _sample(self) -> None:
        for worker in self.server.workers():
            with contextlib.suppress(psutil.Error):
                rss = worker.memory_info().rss
                self.peaks[worker.pid] = max(self.peaks.get(worker.pid, 0), rss)

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    @contextlib.contextmanager
    def sampling(self) -> Iterator[None]:
        self._stop.clear()
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self._sample()


def loop_lag_buckets(server: Server) -> dict[float, float]:
    """The service's cumulative ``event_loop_lag_seconds`` buckets (all workers merged)."""
    text = httpx.get(f"{server.base_url}/metrics", timeout=10).text
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != "event_loop_lag_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                bound = float(sample.labels["le"])
                buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def baseline_lag_buckets(since: float, until: float) -> dict[float, float]:
    """The baseline's lag samples taken between two ``time.monotonic()`` readings, in the
    service's buckets (cumulative, as a scrape gives them), so one ``quantile`` reads both."""
    samples: list[float] = []
    for path in BASELINE_LAG_DIR.glob("*.lag"):
        for line in path.read_text().splitlines():
            at, _, lag = line.partition(" ")
            with contextlib.suppress(ValueError):
                if since <= float(at) <= until:
                    samples.append(float(lag))
    bounds = [*LOOP_LAG_BUCKETS, float("inf")]
    return {bound: float(sum(1 for lag in samples if lag <= bound)) for bound in bounds}


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """``histogram_quantile`` over the samples taken between two scrapes (linear in a bucket)."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    if not counts or counts[-1] <= 0:
        return None
    rank = q * counts[-1]
    lower, below = 0.0, 0.0
    for bound, count in zip(bounds, counts, strict=True):
        if count >= rank:
            if bound == float("inf"):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("could not install wrk")
    return found


def parse_wrk(output: str) -> dict[str, float]:
    for line in output.splitlines():
        if line.startswith("BENCH_JSON "):
            parsed: dict[str, float] = json.loads(line.removeprefix("BENCH_JSON "))
            return parsed
    raise RuntimeError(f"wrk printed no result:\n{output}")
