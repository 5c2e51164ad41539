"""Order events: built from the order as it is after the change, recorded in the
change's own transaction with every webhook delivery and e-mail they cause."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import EmailKind, EventType, Order
from ecommerce.repositories import event as event_repository
from ecommerce.schemas.order import OrderRead
from ecommerce.services import mail
from ecommerce.services.jobs import JobKind, enqueue_many

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
    event_id: str
    deliveries: int
    emails: int


async def record_order_event(
    session: AsyncSession, order: Order, event_type: EventType
) -> RecordedEvent:
    """Write the event, its webhook deliveries and e-mail, and their jobs (a step).

    Runs inside the caller's transaction, after the change: committed together, or not
    at all. Two statements whatever the number of endpoints: the rows in one, the jobs
    in one batch.
    """
    if "items" in inspect(order).unloaded:
        await session.refresh(order, ["items"])
    created_at = datetime.now(UTC)
    event_id = new_event_id()
    payload = event_payload(event_id, event_type, created_at, OrderRead.from_order(order))
    kind = _EMAILS.get(event_type)
    # The order's own e-mail (a guest's, or the one given at checkout), else the account's.
    email = (
        None
        if kind is None
        else event_repository.OrderEmail(
            message_id=mail.new_message_id(kind),
            kind=kind.value,
            to_address=order.email,
            user_id=order.user_id,
        )
    )
    recorded = await event_repository.record(
        session,
        event_id=event_id,
        type=event_type.value,
        order_id=order.id,
        payload=payload,
        email=email,
    )
    jobs = [(JobKind.WEBHOOK_DELIVERY, delivery_id) for delivery_id in recorded.delivery_ids]
    if recorded.email_id is not None:
        jobs.append((JobKind.EMAIL, recorded.email_id))
    await enqueue_many(session, jobs)
    return RecordedEvent(
        event_id=event_id,
        deliveries=len(recorded.delivery_ids),
        emails=0 if recorded.email_id is None else 1,
    )
