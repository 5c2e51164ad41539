"""Delivering one webhook: a job's work, at least once, in order per order and endpoint.

Each run claims the delivery row (a lease, so two jobs never send it at once), sends
the signed event outside any transaction, then records the attempt and either
schedules the next attempt or, when the delivery has ended, wakes the next event of
the same order for the same endpoint. A delivery whose order has an earlier event
still pending for that endpoint waits; the earlier one wakes it when it ends. Both
decisions are taken under one advisory lock per (endpoint, order), so no wake-up is
missed between "still pending" and "ended".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.models import DeliveryStatus, Event, WebhookDelivery
from ecommerce.repositories import event as event_repository
from ecommerce.services.jobs import JobKind, enqueue, retry_delay
from ecommerce.services.webhook_client import Attempt, AttemptOutcome, WebhookClient

logger = logging.getLogger(__name__)

# Beyond the call's own deadline: time to record the attempt before another may claim it.
LEASE_MARGIN_SECONDS = 30.0


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    endpoint_id: int
    order_id: int | None
    event_id: str
    url: str
    secret: str
    body: str
    attempt: int
    attempt_limit: int


async def wake_next(session: AsyncSession, ended: WebhookDelivery) -> None:
    """Queue the next pending delivery of ``ended``'s order stream, if one waits."""
    following = await event_repository.next_pending_of_order(session, ended)
    if following is not None:
        # A key of its own: the follower's first job may still count as running (pgqueuer
        # records job completions in batches) and would swallow a wake-up with its key.
        await enqueue(
            session,
            JobKind.WEBHOOK_DELIVERY,
            following.id,
            attempt=f"after-{ended.id}-{ended.attempts}",
        )


async def _claim(database: Database, settings: Settings, delivery_id: int) -> _Claimed | None:
    lease = timedelta(seconds=settings.webhook_timeout + LEASE_MARGIN_SECONDS)
    async with database.transaction() as session:
        delivery = await event_repository.get_delivery(session, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        await event_repository.lock_order_stream(session, delivery.endpoint_id, delivery.order_id)
        if await event_repository.earlier_pending_exists(session, delivery):
            return None  # the earlier delivery queues this one when it ends
        claimed = await event_repository.claim_delivery(session, delivery_id, lease)
        if claimed is None:
            return None  # another consumer has it, or it is not due yet
        endpoint = await event_repository.get_endpoint(session, claimed.endpoint_id)
        event = await session.get(Event, claimed.event_id)
        if endpoint is None or event is None:
            return None
        if not endpoint.is_active:
            await event_repository.fail_without_attempt(
                session, claimed.id, "the endpoint is inactive"
            )
            await wake_next(session, claimed)
            return None
        return _Claimed(
            delivery_id=claimed.id,
            endpoint_id=claimed.endpoint_id,
            order_id=claimed.order_id,
            event_id=event.id,
            url=endpoint.url,
            secret=endpoint.secret,
            body=orjson.dumps(event.payload).decode(),
            attempt=claimed.attempts + 1,
            attempt_limit=claimed.attempt_limit or settings.webhook_max_attempts,
        )


async def _record(
    database: Database, settings: Settings, claimed: _Claimed, attempt: Attempt
) -> DeliveryStatus:
    async with database.transaction() as session:
        await event_repository.lock_order_stream(session, claimed.endpoint_id, claimed.order_id)
        delay: timedelta | None = None
        if attempt.outcome is AttemptOutcome.SUCCEEDED:
            status = DeliveryStatus.SUCCEEDED
        elif attempt.outcome.retryable and claimed.attempt < claimed.attempt_limit:
            status = DeliveryStatus.PENDING
            delay = retry_delay(settings.webhook_retry_base_seconds, claimed.attempt)
        else:
            status = DeliveryStatus.FAILED
        updated = await event_repository.record_attempt(
            session,
            claimed.delivery_id,
            status=status,
            status_code=attempt.status_code,
            error=attempt.error,
            delay=delay,
        )
        if updated is None:
            return status  # the endpoint was deleted meanwhile
        if attempt.outcome is AttemptOutcome.GONE:
            await event_repository.deactivate_endpoint(session, claimed.endpoint_id)
            logger.warning("webhook endpoint %s answered 410: deactivated", claimed.endpoint_id)
        if status is DeliveryStatus.PENDING:
            await enqueue(
                session,
                JobKind.WEBHOOK_DELIVERY,
                claimed.delivery_id,
                attempt=claimed.attempt,
                delay=delay,
            )
        else:
            await wake_next(session, updated)
        return status


async def deliver(
    database: Database, client: WebhookClient, settings: Settings, delivery_id: int
) -> DeliveryStatus | None:
    """Make the delivery's next attempt if it is due and its turn; return where it stands
    (``None``: nothing was sent this time)."""
    claimed = await _claim(database, settings, delivery_id)
    if claimed is None:
        return None
    attempt = await client.send(claimed.url, claimed.secret, claimed.event_id, claimed.body)
    metrics.webhook_attempt(attempt.outcome.value)
    status = await _record(database, settings, claimed, attempt)
    logger.info(
        "webhook delivery %s attempt %s: %s (%s)",
        claimed.delivery_id,
        claimed.attempt,
        attempt.outcome.value,
        status.value,
    )
    return status
