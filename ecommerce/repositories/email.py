"""SQL for outgoing e-mail rows (the sent-once marker)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import EmailMessage, EmailStatus


async def add(
    session: AsyncSession,
    *,
    message_id: str,
    kind: str,
    to_address: str,
    context: dict[str, Any],
    order_id: int | None,
) -> EmailMessage:
    message = EmailMessage(
        message_id=message_id,
        kind=kind,
        to_address=to_address,
        context=context,
        order_id=order_id,
        status=EmailStatus.PENDING,
        attempts=0,
        next_attempt_at=func.now(),
    )
    session.add(message)
    await session.flush()
    return message


# A message's claim and its attempt are UPDATEs of the table, not of the entity: one of
# each per e-mail sent, and the ORM's bookkeeping of objects such an UPDATE might change
# cost more CPU than the statement (nothing holds the message as an object meanwhile).
_messages = cast(Table, EmailMessage.__table__)


async def claim(session: AsyncSession, message_id: int, lease: timedelta) -> Row[Any] | None:
    """Take a pending message no other consumer holds, for ``lease``: its row as after the
    claim (``locked_until`` is the new lease), or ``None``."""
    table = _messages.c
    statement = (
        update(_messages)
        .where(
            table.id == message_id,
            table.status == EmailStatus.PENDING,
            or_(table.locked_until.is_(None), table.locked_until < func.now()),
            or_(table.next_attempt_at.is_(None), table.next_attempt_at <= func.now()),
        )
        .values(locked_until=func.now() + lease)
        .returning(*_messages.c)
    )
    return (await session.execute(statement)).one_or_none()


async def record_attempt(
    session: AsyncSession,
    message_id: int,
    *,
    status: EmailStatus,
    error: str | None,
    delay: timedelta | None,
    forget_context: bool = False,
) -> None:
    """Count one attempt; ``delay`` (pending only) is measured from the database's now."""
    values: dict[str, Any] = {
        "attempts": _messages.c.attempts + 1,
        "status": status,
        "last_error": error[:500] if error else None,
        "next_attempt_at": func.now() + delay if delay is not None else None,
        "locked_until": None,
        "sent_at": func.now() if status is EmailStatus.SENT else None,
    }
    if forget_context:
        values["context"] = {}
    await session.execute(update(_messages).where(_messages.c.id == message_id).values(**values))


async def overdue_pending(
    session: AsyncSession, older_than: timedelta, limit: int
) -> Sequence[EmailMessage]:
    """Pending messages due for a while that no consumer holds: their job was lost."""
    statement = (
        select(EmailMessage)
        .where(
            EmailMessage.status == EmailStatus.PENDING,
            EmailMessage.next_attempt_at < func.now() - older_than,
            or_(EmailMessage.locked_until.is_(None), EmailMessage.locked_until < func.now()),
        )
        .order_by(EmailMessage.next_attempt_at)
        .limit(limit)
    )
    return (await session.scalars(statement)).all()


async def for_order(session: AsyncSession, order_id: int) -> Sequence[EmailMessage]:
    statement = select(EmailMessage).where(EmailMessage.order_id == order_id)
    return (await session.scalars(statement.order_by(EmailMessage.id))).all()
