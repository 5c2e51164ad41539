"""``ecommerce worker``: a process that only consumes the job queue.

Run as many as needed, on any machines that reach the database; together with the
web workers' in-process consumers (unless ``ECOMMERCE_WORKER_IN_PROCESS=false``) they
share the queue, each job taken by one of them. SIGTERM or SIGINT stops it after its
running jobs finish.

With ``ECOMMERCE_WORKER_METRICS_PORT`` set it also serves ``GET /metrics`` (its job,
e-mail and webhook counters, pool gauges and loop lag: what a web worker's scrape
shows for its own consumer) and ``GET /health/live`` on that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.runtime_sampler import instrument
from ecommerce.services.consumer import consuming

logger = logging.getLogger("ecommerce.worker")


async def run_worker(settings: Settings, url: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    database = Database.connect(settings, url)
    metrics.initialise_job_series()
    try:
        pool_capacity = settings.db_pool_size + settings.db_max_overflow
        async with (
            instrument(database, pool_capacity),
            serving_metrics(settings),
            consuming(settings, database, url),
        ):
            logger.info("worker started (concurrency=%s)", settings.worker_concurrency)
            await stop.wait()
            logger.info("worker stopping")
    finally:
        await database.dispose()


async def _metrics(request: web.Request) -> web.Response:
    # Rendering reads the registry (or every process's files): off the loop, as the API does.
    body, content_type = await asyncio.to_thread(
        metrics.render_latest, request.headers.get("Accept")
    )
    return web.Response(body=body, headers={"Content-Type": content_type})


async def _live(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@contextlib.asynccontextmanager
async def serving_metrics(settings: Settings) -> AsyncIterator[None]:
    """``GET /metrics`` and ``GET /health/live`` on ECOMMERCE_WORKER_METRICS_PORT, for the
    life of the block; nothing when it is 0."""
    if not settings.worker_metrics_port:
        yield
        return
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/health/live", _live)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        host, port = settings.worker_metrics_host, settings.worker_metrics_port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:  # one line, not a stack: the port is taken or not ours
            print(
                f"configuration error: ECOMMERCE_WORKER_METRICS_PORT: cannot listen on "
                f"{host}:{port} ({error.strerror or error})",
                file=sys.stderr,
            )
            raise SystemExit(2) from None  # as every other configuration error
        logger.info("worker metrics on http://%s:%s/metrics", host, port)
        yield
    finally:
        await runner.cleanup()
