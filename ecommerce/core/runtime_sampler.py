"""The runtime sampler of every process that serves or consumes: event-loop lag and the
pool's gauges, on a timer (``LOOP_LAG_INTERVAL``), and pool checkouts timed.

Kept apart from the metric definitions (``core/metrics.py``): this is the part that runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping

from ecommerce.core.database import Database
from ecommerce.core.metrics import (
    LOOP_LAG_INTERVAL,
    observe_db_acquire,
    observe_loop_lag,
    record_pool_status,
)

logger = logging.getLogger(__name__)


async def sample_runtime(
    pool_status: Callable[[], Mapping[str, int]],
    capacity: int,
    interval: float = LOOP_LAG_INTERVAL,
) -> None:
    """Forever: sleep ``interval``, record how late the loop woke us, refresh pool gauges.

    Each worker sets its own pool gauges here (a scrape reaches only one worker, which
    cannot read the others' pools); the ``livesum`` mode adds them up.
    """
    loop = asyncio.get_running_loop()
    record_pool_status(pool_status(), capacity)
    while True:
        scheduled = loop.time() + interval
        await asyncio.sleep(interval)
        observe_loop_lag(loop.time() - scheduled)
        try:
            record_pool_status(pool_status(), capacity)
        except Exception:  # a stale gauge beats a dead sampler (and no more lag samples)
            logger.exception("could not read the pool status")


@contextlib.asynccontextmanager
async def instrument(database: Database, pool_capacity: int) -> AsyncIterator[None]:
    """For the lifespan: time pool checkouts and run the runtime sampler until shutdown."""
    database.acquire_observers.append(observe_db_acquire)
    sampler = asyncio.create_task(
        sample_runtime(database.pool_status, pool_capacity), name="metrics-sampler"
    )
    try:
        yield
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        database.acquire_observers.remove(observe_db_acquire)
