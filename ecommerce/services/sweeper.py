"""The safety net under the queue: rows still pending long after they were due.

A job can be lost without its row ending: its handler raised (pgqueuer then drops
it), or its retry could not be queued. Once a minute (a pgqueuer schedule, so once
across every consumer) such rows are queued again under their regular job key:
a job still queued or running for them is not duplicated. The same sweep trims
pgqueuer's job history (``pgqueuer_log``) to a week.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ecommerce.core.database import Database
from ecommerce.repositories import email as email_repository
from ecommerce.repositories import event as event_repository
from ecommerce.repositories import job as job_repository
from ecommerce.services.jobs import JobKind, enqueue

logger = logging.getLogger(__name__)

OVERDUE_AFTER = timedelta(minutes=1)
BATCH = 500
# pgqueuer's history of finished jobs is kept this long, then purged a batch a minute.
LOG_RETENTION = timedelta(days=7)
LOG_PURGE_BATCH = 10_000


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
        await job_repository.purge_log(session, LOG_RETENTION, LOG_PURGE_BATCH)
    if queued:
        logger.warning("re-queued %s overdue webhook deliveries and e-mails", queued)
    return queued
