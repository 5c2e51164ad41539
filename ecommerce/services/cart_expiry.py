"""Expired carts are deleted by a periodic sweep, safe with many workers and instances.

An expired cart is already invisible (404) to every read and write; the sweep only
reclaims the rows. Sweepers skip rows another holds (``SKIP LOCKED``), so any number can
run at once, each deleting different carts. ``sweep_expired_carts`` is one pass; the loop
around it is ``run_cart_sweeper`` (a job scheduler can call the pass instead).
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import DomainError
from ecommerce.repositories import cart as carts

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Per pass: a backlog is worked off over several passes, not in one long burst.
MAX_BATCHES = 20


async def sweep_expired_carts(database: Database, settings: Settings) -> int:
    """Delete carts untouched for ``ECOMMERCE_CART_TTL_HOURS``; returns how many."""
    deleted = 0
    for _ in range(MAX_BATCHES):
        # One short transaction per batch: locks are held for one batch only.
        async with database.transaction() as session:
            count = await carts.delete_expired(session, ttl=settings.cart_ttl, limit=BATCH_SIZE)
        deleted += count
        if count < BATCH_SIZE:
            break
    return deleted


async def run_cart_sweeper(database: Database, settings: Settings) -> None:
    """Sweep every ``ECOMMERCE_CART_SWEEP_INTERVAL`` seconds until cancelled.

    The first sweep waits one interval: workers starting together do not all sweep at
    once, and start-up takes no connection for it.
    """
    while True:
        await asyncio.sleep(settings.cart_sweep_interval)
        try:
            deleted = await sweep_expired_carts(database, settings)
            if deleted:
                logger.info("deleted %d expired carts", deleted)
        except (DomainError, SQLAlchemyError, OSError) as error:
            # The database being down only delays the sweep.
            logger.warning("cart sweep failed: %r", error)
