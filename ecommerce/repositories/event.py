"""SQL for events, webhook endpoints and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ecommerce.core.paging import PageRequest
from ecommerce.models import (
    DeliveryStatus,
    EmailMessage,
    EmailStatus,
    Event,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from ecommerce.repositories.pagination import paginate


@dataclass(frozen=True)
class OrderEmail:
    """The e-mail an event sends to the order's customer: to ``to_address``, else to the
    account of ``user_id``; its context is the event's order and the account's name."""

    message_id: str
    kind: str
    to_address: str | None
    user_id: int | None


@dataclass(frozen=True)
class Recorded:
    delivery_ids: list[int]
    email_id: int | None  # None: no e-mail, or nobody to send it to


async def record(
    session: AsyncSession,
    *,
    event_id: str,
    type: str,
    order_id: int | None,
    payload: dict[str, Any],
    email: OrderEmail | None,
) -> Recorded:
    """Insert the event, a pending delivery for every active endpoint that takes its type
    and the e-mail it sends, in one statement (data-modifying CTEs)."""
    params: dict[str, Any] = {
        "event_id": event_id,
        "type": type,
        "order_id": order_id,
        "payload": payload,
    }
    if email is not None:
        params |= {
            "message_id": email.message_id,
            "kind": email.kind,
            "to_address": email.to_address,
            "user_id": email.user_id,
        }
    row = (await session.execute(_record_statement(email is not None), params)).one()
    return Recorded(list(row[0] or []), row[1] if email is not None else None)


@cache
def _record_statement(with_email: bool) -> Select[Any]:
    """Built once per shape; each call only binds (building CTEs costs more than running
    them)."""
    event = (
        insert(Event)
        .values(
            id=bindparam("event_id"),
            type=bindparam("type"),
            order_id=bindparam("order_id"),
            payload=bindparam("payload", type_=Event.__table__.c.payload.type),
        )
        .returning(Event.id, Event.seq, Event.order_id, Event.type, Event.payload)
        .cte("new_event")
    )
    deliveries = (
        insert(WebhookDelivery)
        .from_select(
            ["endpoint_id", "event_id", "event_seq", "order_id", "type", "status", "attempts",
             "next_attempt_at"],
            select(
                WebhookEndpoint.id, event.c.id, event.c.seq, event.c.order_id, event.c.type,
                literal(DeliveryStatus.PENDING.value), literal(0), func.now(),
            ).join_from(
                event,
                WebhookEndpoint,
                and_(WebhookEndpoint.is_active, event.c.type == any_(WebhookEndpoint.events)),
            ),
        )
        .returning(WebhookDelivery.id)
        .cte("new_deliveries")
    )  # fmt: skip
    columns = [select(func.array_agg(deliveries.c.id)).scalar_subquery()]
    if with_email:
        columns.append(select(_email_insert(event).c.id).scalar_subquery())
    return select(*columns)


def _email_insert(event: Any) -> Any:
    """The order's e-mail: to its own address, else to its account's (no row if neither).

    The row ``repositories/email.add`` writes for any other message (pending, no attempt
    yet, due now), written here inside the event's statement instead."""
    account = aliased(User)
    to_address = func.coalesce(bindparam("to_address", type_=String()), account.email)
    rows = (
        select(
            bindparam("message_id"), bindparam("kind"), to_address,
            func.jsonb_build_object(
                "order", cast(event.c.payload["data"], JSONB), "full_name", account.full_name
            ),
            event.c.order_id, literal(EmailStatus.PENDING.value), literal(0), func.now(),
        )
        .select_from(event)
        .outerjoin(account, account.id == bindparam("user_id", type_=BigInteger()))
        .where(to_address.is_not(None))
    )  # fmt: skip
    return (
        insert(EmailMessage)
        .from_select(
            ["message_id", "kind", "to_address", "context", "order_id", "status", "attempts",
             "next_attempt_at"],
            rows,
        )
        .returning(EmailMessage.id)
        .cte("new_email")
    )  # fmt: skip


async def add_endpoint(
    session: AsyncSession, *, url: str, events: list[str], secret: str
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(url=url, events=events, secret=secret, is_active=True)
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return endpoint


async def get_endpoint(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint | None:
    return await session.get(WebhookEndpoint, endpoint_id)


async def page_endpoints(
    session: AsyncSession, page: PageRequest
) -> tuple[list[WebhookEndpoint], str | None]:
    return await paginate(session, select(WebhookEndpoint), page)


async def delete_endpoint(session: AsyncSession, endpoint_id: int) -> bool:
    result = await session.execute(
        delete(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .returning(WebhookEndpoint.id)
    )
    return result.scalar_one_or_none() is not None


async def deactivate_endpoint(session: AsyncSession, endpoint_id: int) -> None:
    await session.execute(
        update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).values(is_active=False)
    )


async def page_deliveries(
    session: AsyncSession, endpoint_id: int, page: PageRequest
) -> tuple[list[WebhookDelivery], str | None]:
    statement = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    return await paginate(session, statement, page)


async def get_delivery(session: AsyncSession, delivery_id: int) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def lock_order_stream(session: AsyncSession, endpoint_id: int, order_id: int | None) -> None:
    """Serialize, until commit, everything that decides which delivery of one order
    goes next to one endpoint (claiming one, finishing one, waking the next)."""
    key = f"webhook:{endpoint_id}:{order_id if order_id is not None else '-'}"
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key}
    )


async def earlier_pending_exists(session: AsyncSession, delivery: WebhookDelivery) -> bool:
    """Is an earlier event of the same order still on its way to the same endpoint?"""
    if delivery.order_id is None:
        return False
    statement = select(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.order_id == delivery.order_id,
            WebhookDelivery.event_seq < delivery.event_seq,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .exists()
    )
    return bool((await session.execute(statement)).scalar_one())


async def next_pending_of_order(
    session: AsyncSession, delivery: WebhookDelivery
) -> WebhookDelivery | None:
    """The earliest delivery still pending after ``delivery`` in its order's stream."""
    if delivery.order_id is None:
        return None
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == delivery.endpoint_id,
            WebhookDelivery.order_id == delivery.order_id,
            WebhookDelivery.event_seq > delivery.event_seq,
            WebhookDelivery.status == DeliveryStatus.PENDING,
        )
        .order_by(WebhookDelivery.event_seq)
        .limit(1)
    )
    return (await session.scalars(statement)).one_or_none()


async def claim_delivery(
    session: AsyncSession, delivery_id: int, lease: timedelta
) -> WebhookDelivery | None:
    """Take a pending delivery no other consumer holds, for ``lease``; ``None`` if not."""
    statement = (
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < func.now()),
            # A job that runs early (a wake-up racing a scheduled retry) leaves it be.
            or_(
                WebhookDelivery.next_attempt_at.is_(None),
                WebhookDelivery.next_attempt_at <= func.now(),
            ),
        )
        .values(locked_until=func.now() + lease)
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def record_attempt(
    session: AsyncSession,
    delivery_id: int,
    *,
    status: DeliveryStatus,
    status_code: int | None,
    error: str | None,
    delay: timedelta | None,
) -> WebhookDelivery | None:
    """Count one attempt; ``delay`` (pending only) is measured from the database's now,
    like the retry job's own ``execute_after``."""
    statement = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            attempts=WebhookDelivery.attempts + 1,
            status=status,
            last_status_code=status_code,
            last_error=error[:500] if error else None,
            next_attempt_at=func.now() + delay if delay is not None else None,
            locked_until=None,
        )
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def fail_without_attempt(session: AsyncSession, delivery_id: int, reason: str) -> None:
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.FAILED, last_error=reason, next_attempt_at=None, locked_until=None
        )
    )


async def reopen_delivery(
    session: AsyncSession, delivery_id: int, extra_attempts: int
) -> WebhookDelivery | None:
    """A manual retry: pending again, due now, with ``extra_attempts`` more to go."""
    statement = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=DeliveryStatus.PENDING,
            attempt_limit=WebhookDelivery.attempts + extra_attempts,
            next_attempt_at=func.now(),
        )
        .returning(WebhookDelivery)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def overdue_pending(
    session: AsyncSession, older_than: timedelta, limit: int
) -> Sequence[WebhookDelivery]:
    """Pending deliveries due for a while that no consumer holds: their job was lost."""
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at < func.now() - older_than,
            or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < func.now()),
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()
