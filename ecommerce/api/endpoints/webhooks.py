"""Admin routes of outgoing webhooks: endpoints, their delivery log, manual retries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ecommerce.api.dependencies import AdminUser, CallerSessionDep, PageParams, SettingsDep
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from ecommerce.core.ids import MAX_ID
from ecommerce.schemas.common import Page
from ecommerce.schemas.webhook import (
    WebhookCreate,
    WebhookCreated,
    WebhookDeliveryRead,
    WebhookRead,
)
from ecommerce.services import webhooks

router = APIRouter(prefix="/api/v1/admin", tags=["webhooks"])

WebhookId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Webhook id.")]
DeliveryId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Delivery id.")]
ADMIN_ERRORS = (NotAuthenticated, Forbidden)


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    summary="Create a webhook endpoint",
    description="Subscribes `url` to the listed events. The answer holds the signing "
    "`secret`, shown this once. The URL must be http(s); in production (unless "
    "`ECOMMERCE_WEBHOOK_ALLOW_PRIVATE`) it must not reach a loopback or private address, "
    "host names resolved.",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def create_webhook(
    body: WebhookCreate, session: CallerSessionDep, settings: SettingsDep, _: AdminUser
) -> WebhookCreated:
    endpoint = await webhooks.create_endpoint(
        session, settings, url=body.url, events=[event.value for event in body.events]
    )
    return WebhookCreated(
        id=endpoint.id,
        url=endpoint.url,
        events=endpoint.events,
        is_active=endpoint.is_active,
        created_at=endpoint.created_at,
        secret=endpoint.secret,
    )


@router.get(
    "/webhooks",
    response_model=Page[WebhookRead],
    summary="List webhook endpoints",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def list_webhooks(
    session: CallerSessionDep, page: PageParams, _: AdminUser
) -> Page[WebhookRead]:
    rows, next_cursor = await webhooks.list_endpoints(session, page)
    return Page(items=[WebhookRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.delete(
    "/webhooks/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a webhook endpoint",
    responses=error_responses(*ADMIN_ERRORS, NotFound),
)
async def delete_webhook(
    webhook_id: WebhookId, session: CallerSessionDep, _: AdminUser
) -> Response:
    await webhooks.delete_endpoint(session, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/webhooks/{id}/deliveries",
    response_model=Page[WebhookDeliveryRead],
    summary="List an endpoint's deliveries",
    description="One delivery per event sent to this endpoint, with its attempts so far, "
    "the last HTTP status and when the next attempt is due (pending only).",
    responses=error_responses(*ADMIN_ERRORS, NotFound, InvalidInput),
)
async def list_webhook_deliveries(
    webhook_id: WebhookId, session: CallerSessionDep, page: PageParams, _: AdminUser
) -> Page[WebhookDeliveryRead]:
    rows, next_cursor = await webhooks.list_deliveries(session, webhook_id, page)
    return Page(
        items=[WebhookDeliveryRead.model_validate(row) for row in rows], next_cursor=next_cursor
    )


@router.post(
    "/webhook-deliveries/{id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Send a delivery again",
    description="Queues the delivery for an attempt now, whatever its status, with a new "
    "series of attempts. 409 when its endpoint was deactivated by a 410.",
    responses={
        202: {"description": "Queued."},
        **error_responses(*ADMIN_ERRORS, NotFound, Conflict),
    },
)
async def retry_webhook_delivery(
    delivery_id: DeliveryId, session: CallerSessionDep, settings: SettingsDep, _: AdminUser
) -> Response:
    await webhooks.retry_delivery(session, settings, delivery_id)
    return Response(status_code=status.HTTP_202_ACCEPTED)
