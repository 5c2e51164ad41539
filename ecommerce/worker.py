"""``ecommerce worker``: a process that only consumes the job queue.

Run as many as needed, on any machines that reach the database; together with the
web workers' in-process consumers (unless ``ECOMMERCE_WORKER_IN_PROCESS=false``) they
share the queue, each job taken by one of them. SIGTERM or SIGINT stops it after its
running jobs finish.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.services.consumer import consuming

logger = logging.getLogger("ecommerce.worker")


async def run_worker(settings: Settings, url: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    database = Database.connect(settings, url)
    try:
        async with consuming(settings, database, url):
            logger.info("worker started (concurrency=%s)", settings.worker_concurrency)
            await stop.wait()
            logger.info("worker stopping")
    finally:
        await database.dispose()
