"""Idempotency keys: claim, take over, link the order, store the answer, purge."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import IdempotencyKey


async def claim(session: AsyncSession, *, user_id: int, key: str, fingerprint: str) -> int | None:
    """Insert the key as held by us; None when it exists already (the unique index decides)."""
    result = await session.execute(
        insert(IdempotencyKey)
        .values(user_id=user_id, key=key, fingerprint=fingerprint, locked_at=func.now())
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    return result.scalar_one_or_none()


async def find(session: AsyncSession, *, user_id: int, key: str) -> IdempotencyKey | None:
    result = await session.execute(
        select(IdempotencyKey)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def take_over(session: AsyncSession, row_id: int, *, lease: timedelta) -> bool:
    """Hold a key nobody holds (or whose holder died: its lease ran out) and that has no answer."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row_id,
            IdempotencyKey.response_status.is_(None),
            or_(
                IdempotencyKey.locked_at.is_(None),
                IdempotencyKey.locked_at < func.now() - lease,
            ),
        )
        .values(locked_at=func.now())
        .returning(IdempotencyKey.id)
    )
    return result.scalar_one_or_none() is not None


async def link_order(session: AsyncSession, row_id: int, order_id: int) -> None:
    await session.execute(
        update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(order_id=order_id)
    )


async def store_answer(session: AsyncSession, row_id: int, status_code: int, body: Any) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == row_id)
        .values(response_status=status_code, response_body=body, locked_at=None)
    )


async def release(session: AsyncSession, row_id: int) -> None:
    await session.execute(
        update(IdempotencyKey).where(IdempotencyKey.id == row_id).values(locked_at=None)
    )


PURGE_BATCH = 1000


async def purge(session: AsyncSession, *, older_than: timedelta, limit: int = PURGE_BATCH) -> int:
    """Delete keys older than the retention, a batch at a time."""
    ids = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < func.now() - older_than)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)).returning(IdempotencyKey.id)
    )
    return len(result.all())
