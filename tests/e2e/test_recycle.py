"""Worker recycling loses nothing: a real gunicorn under steady keep-alive load
recycles its workers (ECOMMERCE_MAX_REQUESTS) and every request gets its answer."""

from __future__ import annotations

import asyncio
import time

import httpx

from tests.support.metrics import parse_samples, value
from tests.support.processes import gunicorn

CLIENTS = 8
REQUESTS_PER_CLIENT = 250


async def test_recycling_under_load_loses_no_request(database_url: str) -> None:
    env = {"ECOMMERCE_MAX_REQUESTS": "500", "ECOMMERCE_MAX_REQUESTS_JITTER": "300"}
    failures: list[str] = []
    closed_by_server = 0
    with gunicorn(database_url, workers=2, env=env) as base:
        # One pooled keep-alive client per "user", like a real client library.
        async def user() -> None:
            nonlocal closed_by_server
            async with httpx.AsyncClient(base_url=base, timeout=30) as http:
                for _ in range(REQUESTS_PER_CLIENT):
                    try:
                        response = await http.get("/health/live")
                    except httpx.HTTPError as error:
                        failures.append(repr(error))
                        continue
                    if response.status_code != 200:
                        failures.append(str(response.status_code))
                    if response.headers.get("connection") == "close":
                        closed_by_server += 1

        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
        await asyncio.sleep(8)  # the last draining worker exits after its keep-alive
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            samples = parse_samples((await http.get("/metrics")).text)
    exits = value(samples, "gunicorn_worker_exits_total") or 0
    total = CLIENTS * REQUESTS_PER_CLIENT
    print(
        f"{total} requests in {elapsed:.1f}s ({total / elapsed:.0f} rps), "
        f"{exits:.0f} worker recycles, {closed_by_server} answers with Connection: close, "
        f"{len(failures)} failures"
    )
    assert exits >= 2, "the load was meant to recycle workers"
    assert closed_by_server >= 1
    assert failures == []
