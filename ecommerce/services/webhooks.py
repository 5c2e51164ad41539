"""Webhook endpoints for admins: create (secret shown once), list, delete, deliveries,
manual retry."""

from __future__ import annotations

import base64
import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.errors import Conflict, InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import WebhookDelivery, WebhookEndpoint
from ecommerce.repositories import event as event_repository
from ecommerce.services.jobs import JobKind, enqueue
from ecommerce.services.webhook_address import private_address_problem

SECRET_BYTES = 24


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and base64 of random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_endpoint(
    session: AsyncSession, settings: Settings, *, url: str, events: list[str]
) -> WebhookEndpoint:
    """Add an endpoint; in production (unless allowed) only one reaching public addresses."""
    if not settings.webhooks_may_reach_private:
        problem = await private_address_problem(url)
        if problem is not None:
            raise InvalidInput(problem)
    return await event_repository.add_endpoint(session, url=url, events=events, secret=new_secret())


async def list_endpoints(
    session: AsyncSession, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    return await event_repository.page_endpoints(session, page)


async def delete_endpoint(session: AsyncSession, endpoint_id: int) -> None:
    """Remove the endpoint and its delivery log; queued jobs for it find nothing to do."""
    if not await event_repository.delete_endpoint(session, endpoint_id):
        raise NotFound("Webhook not found")


async def list_deliveries(
    session: AsyncSession, endpoint_id: int, page: PageRequest
) -> tuple[list[WebhookDelivery], str | None]:
    if await event_repository.get_endpoint(session, endpoint_id) is None:
        raise NotFound("Webhook not found")
    return await event_repository.page_deliveries(session, endpoint_id, page)


async def retry_delivery(session: AsyncSession, settings: Settings, delivery_id: int) -> None:
    """Send the delivery again now (whatever its status), with a fresh series of attempts."""
    delivery = await event_repository.get_delivery(session, delivery_id)
    if delivery is None:
        raise NotFound("Webhook delivery not found")
    endpoint = await event_repository.get_endpoint(session, delivery.endpoint_id)
    if endpoint is None:
        raise NotFound("Webhook delivery not found")
    if not endpoint.is_active:
        raise Conflict("The webhook endpoint is inactive (it answered 410)")
    reopened = await event_repository.reopen_delivery(
        session, delivery_id, settings.webhook_max_attempts
    )
    assert reopened is not None
    # A key of its own: a retry already scheduled for later must not swallow this one.
    await enqueue(
        session, JobKind.WEBHOOK_DELIVERY, delivery_id, attempt=f"manual-{reopened.attempts}"
    )
