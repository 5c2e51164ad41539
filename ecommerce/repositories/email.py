"""SQL for outgoing e-mail rows (the sent-once marker)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
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


async def claim(session: AsyncSession, message_id: int, lease: timedelta) -> EmailMessage | None:
    """Take a pending message no other consumer holds, for ``lease``; ``None`` if not."""
    statement = (
        update(EmailMessage)
        .where(
            EmailMessage.id == message_id,
            EmailMessage.status == EmailStatus.PENDING,
            or_(EmailMessage.locked_until.is_(None), EmailMessage.locked_until < func.now()),
            or_(EmailMessage.next_attempt_at.is_(None), EmailMessage.next_attempt_at <= func.now()),
        )
        .values(locked_until=func.now() + lease)
        .returning(EmailMessage)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


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
        "attempts": EmailMessage.attempts + 1,
        "status": status,
        "last_error": error[:500] if error else None,
        "next_attempt_at": func.now() + delay if delay is not None else None,
        "locked_until": None,
        "sent_at": func.now() if status is EmailStatus.SENT else None,
    }
    if forget_context:
        values["context"] = {}
    await session.execute(
        update(EmailMessage).where(EmailMessage.id == message_id).values(**values)
    )


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
