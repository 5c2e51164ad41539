"""Order events: built from the order as it is after the change, recorded in the
change's own transaction with every webhook delivery and e-mail they cause."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import EmailKind, Event, EventType, Order
from ecommerce.repositories import event as event_repository
from ecommerce.repositories import user as user_repository
from ecommerce.schemas.order import OrderRead
from ecommerce.services import mail
from ecommerce.services.jobs import JobKind, enqueue

# The e-mail each event sends to the customer, if any.
_EMAILS = {
    EventType.ORDER_PAID: EmailKind.ORDER_CONFIRMATION,
    EventType.ORDER_SHIPPED: EmailKind.SHIPPING_NOTICE,
}


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


def event_payload(
    event_id: str, event_type: EventType, created_at: datetime, order: OrderRead
) -> dict[str, Any]:
    """The event as webhooks receive it: ``{"id", "type", "created_at", "data"}``."""
    return {
        "id": event_id,
        "type": event_type.value,
        "created_at": created_at.isoformat().replace("+00:00", "Z"),
        "data": order.model_dump(mode="json"),
    }


@dataclass(frozen=True)
class RecordedEvent:
    event: Event
    deliveries: int
    emails: int


async def record_order_event(
    session: AsyncSession, order: Order, event_type: EventType
) -> RecordedEvent:
    """Write the event, its webhook deliveries and e-mails, and their jobs (a step).

    Runs inside the caller's transaction, after the change is flushed: committed
    together, or not at all.
    """
    if "items" in inspect(order).unloaded:
        await session.refresh(order, ["items"])
    created_at = datetime.now(UTC)
    event_id = new_event_id()
    payload = event_payload(event_id, event_type, created_at, OrderRead.from_order(order))
    event = await event_repository.add_event(
        session, event_id=event_id, type=event_type.value, order_id=order.id, payload=payload
    )
    endpoint_ids = await event_repository.subscribed_endpoints(session, event_type.value)
    deliveries = await event_repository.add_deliveries(session, event, endpoint_ids)
    for delivery in deliveries:
        await enqueue(session, JobKind.WEBHOOK_DELIVERY, delivery.id)
    emails = 0
    kind = _EMAILS.get(event_type)
    if kind is not None:
        # The order's own e-mail (a guest's, or the one given at checkout), else the account's.
        user = (
            None
            if order.user_id is None
            else await user_repository.get_by_id(session, order.user_id)
        )
        to_address = order.email or (user.email if user is not None else None)
        if to_address is not None:
            await mail.queue_email(
                session,
                kind=kind,
                to_address=to_address,
                context={
                    "order": payload["data"],
                    "full_name": user.full_name if user is not None else None,
                },
                order_id=order.id,
            )
            emails = 1
    return RecordedEvent(event=event, deliveries=len(deliveries), emails=emails)
