"""The timings the tests used to assert, measured instead: it prints numbers, asserts nothing.

    .venv/bin/python bench/timing.py [--runs 5]

- a hung charge: how long the gateway client takes to give up (``GatewayTimeout``), and
  how long ``POST /api/v1/orders`` takes to answer 504, against
  ``ECOMMERCE_PAYMENT_GATEWAY_TIMEOUT`` (1 s here);
- the gateway connection limit: 4 charges of 0.3 s each through 2 connections;
- event-loop lag: what the sampler records after the loop is blocked for 1.5 s.

Uses a scratch database ``ecommerce_bench_timing`` on the embedded PostgreSQL under
./.data (or ECOMMERCE_BENCH_DATABASE_URL) and a fake gateway on a free loopback port.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.embedded_postgres import create_database, server_url, start_server
from ecommerce.core.errors import GatewayTimeout
from ecommerce.devtools.fake_gateway import create_app as create_gateway
from ecommerce.launcher import migrate
from ecommerce.main import create_app
from ecommerce.services.payment import PaymentGateway

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "ecommerce_bench_timing"
API_KEY = "sk_test_bench_timing"
JWT_SECRET = "bench-" + "t" * 40
PASSWORD = "bench timing password"  # noqa: S105 - a throwaway local database
TIMEOUT = 1.0


async def database_url() -> str:
    url = os.environ.get("ECOMMERCE_BENCH_DATABASE_URL")
    if url:
        return url
    socket_dir, port = await asyncio.to_thread(start_server, ROOT / ".data")
    await create_database(socket_dir, port, DATABASE)
    return server_url(socket_dir, port, DATABASE)


@asynccontextmanager
async def fake_gateway() -> AsyncIterator[str]:
    runner = web.AppRunner(create_gateway(API_KEY), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    try:
        await web.SockSite(runner, sock).start()
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await runner.cleanup()
        sock.close()


async def set_fault(url: str, **rule: Any) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as control:
        if rule:
            (await control.post("/_control/faults", json=rule)).raise_for_status()
        else:
            (await control.delete("/_control/faults")).raise_for_status()


async def timed(runs: int, step: Callable[[int], Awaitable[object]]) -> list[float]:
    seconds = []
    for run in range(runs):
        started = time.perf_counter()
        await step(run)
        seconds.append(time.perf_counter() - started)
    return seconds


def report(label: str, seconds: list[float]) -> None:
    print(
        f"{label:<52} median {statistics.median(seconds):6.3f}s  "
        f"min {min(seconds):6.3f}s  max {max(seconds):6.3f}s  ({len(seconds)} runs)"
    )


async def gateway_timings(settings: Settings, gateway_url: str, runs: int) -> None:
    client = PaymentGateway.open(settings)

    async def hung_charge(run: int) -> None:
        try:
            await client.charge(
                amount=100, currency="USD", source="tok_visa", idempotency_key=f"hang-{run}"
            )
        except GatewayTimeout:
            return
        raise RuntimeError("the hung charge answered")

    try:
        await set_fault(gateway_url, mode="hang", operations=["charge"])
        report(
            f"gateway client gives up on a hung charge ({TIMEOUT}s)", await timed(runs, hung_charge)
        )
    finally:
        await set_fault(gateway_url)
        await client.close()

    limited = PaymentGateway.open(
        settings.model_copy(update={"payment_gateway_max_connections": 2})
    )

    async def four_charges(run: int) -> None:
        await asyncio.gather(
            *(
                limited.charge(
                    amount=100, currency="USD", source="tok_visa", idempotency_key=f"l-{run}-{i}"
                )
                for i in range(4)
            )
        )

    try:
        await set_fault(gateway_url, mode="none", latency=0.3, operations=["charge"])
        report("4 charges of 0.3s through 2 connections", await timed(runs, four_charges))
    finally:
        await set_fault(gateway_url)
        await limited.close()


async def checkout_and_lag(settings: Settings, gateway_url: str, url: str, runs: int) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text('TRUNCATE "user", product RESTART IDENTITY CASCADE'))
        await conn.execute(
            text(
                "INSERT INTO product (sku, name, price, currency, stock) "
                "VALUES ('BENCH-1', 'Bench', 100, 'USD', 1000000)"
            )
        )
    await engine.dispose()
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(transport=httpx.ASGITransport(manager.app), base_url="http://b") as http,
    ):
        email = "bench.timing@example.com"
        await http.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        token = await http.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        )
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        body = {"items": [{"product_id": 1, "quantity": 1}], "payment_token": "tok_visa"}

        async def hung_checkout(run: int) -> None:
            response = await http.post("/api/v1/orders", headers=headers, json=body)
            if response.status_code != 504:
                raise RuntimeError(f"expected 504, got {response.status_code}")

        try:
            await set_fault(gateway_url, mode="hang", operations=["charge"])
            report(
                f"POST /orders answers 504 on a hung charge ({TIMEOUT}s)",
                await timed(runs, hung_checkout),
            )
        finally:
            await set_fault(gateway_url)

        lags = []
        for _ in range(runs):
            before = lag_sum()
            time.sleep(1.5)  # block the loop the app's sampler runs on
            await asyncio.sleep(metrics.LOOP_LAG_INTERVAL * 2)  # let it wake and record
            lags.append(lag_sum() - before)
        report("event-loop lag recorded after a 1.5s block", lags)


def lag_sum() -> float:
    exposition = metrics.render_latest(None)[0].decode()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == "event_loop_lag_seconds_sum":
                return float(sample.value)
    return 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    url = await database_url()
    await asyncio.to_thread(migrate, url)
    async with fake_gateway() as gateway_url:
        settings = Settings(
            _env_file=None,
            database_url=url,
            jwt_secret=JWT_SECRET,
            payment_gateway_url=gateway_url,
            payment_gateway_api_key=API_KEY,
            payment_gateway_timeout=TIMEOUT,
            reconciler_enabled=False,
        )
        await gateway_timings(settings, gateway_url, runs)
        await checkout_and_lag(settings, gateway_url, url, runs)


if __name__ == "__main__":
    asyncio.run(main())
