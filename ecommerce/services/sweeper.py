"""The safety net under the queue: rows still pending long after they were due.

A job can be lost without its row ending: its handler raised (pgqueuer then drops
it), or its retry could not be queued. Once a minute (a pgqueuer schedule, so once
across every consumer) such rows are queued again under their regular job key:
a job still queued or running for them is not duplicated.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ecommerce.core.database import Database
from ecommerce.repositories import email as email_repository
from ecommerce.repositories import event as event_repository
from ecommerce.services.jobs import JobKind, enqueue

logger = logging.getLogger(__name__)

OVERDUE_AFTER = timedelta(minutes=1)
BATCH = 500


async def requeue_lost(database: Database) -> int:
    """Queue again every pending delivery and e-mail overdue by a minute; how many."""
    queued = 0
    async with database.transaction() as session:
        for delivery in await event_repository.overdue_pending(session, OVERDUE_AFTER, BATCH):
            queued += await enqueue(
                session, JobKind.WEBHOOK_DELIVERY, delivery.id, attempt=delivery.attempts
            )
        for message in await email_repository.overdue_pending(session, OVERDUE_AFTER, BATCH):
            queued += await enqueue(session, JobKind.EMAIL, message.id, attempt=message.attempts)
    if queued:
        logger.warning("re-queued %s overdue webhook deliveries and e-mails", queued)
    return queued
