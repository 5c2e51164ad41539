"""Idempotency keys: claim, take over, link the order, store the answer, purge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import IdempotencyKey


@dataclass(frozen=True)
class Hold:
    """A key held by one request: ``locked_at`` is its fence against a later take-over."""

    row_id: int
    locked_at: datetime
    # Set by a take-over when the previous holder had linked its order already.
    order_id: int | None = None


# The moves of a key are UPDATEs of the table, not of the entity: the ORM's bookkeeping of
# objects an UPDATE might change (evaluating the WHERE against the session) cost more CPU
# than the statement; nothing reads a key object after its own request moved it.
_keys = cast(Table, IdempotencyKey.__table__)


def _held(hold: Hold) -> ColumnElement[bool]:
    return and_(_keys.c.id == hold.row_id, _keys.c.locked_at == hold.locked_at)


async def claim(
    session: AsyncSession,
    *,
    user_id: int | None,
    key: str,
    fingerprint: str,
    cart_id: str | None = None,
) -> Hold | None:
    """Insert the key as held by us; None when it exists already (the unique index decides).

    A key is scoped to its user; a guest's (no user) to the cart it checks out.
    """
    statement = insert(IdempotencyKey).values(
        user_id=user_id,
        cart_id=None if user_id is not None else cart_id,
        key=key,
        fingerprint=fingerprint,
        locked_at=func.clock_timestamp(),
    )
    if user_id is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["user_id", "key"])
    else:
        statement = statement.on_conflict_do_nothing(
            index_elements=["cart_id", "key"], index_where=IdempotencyKey.user_id.is_(None)
        )
    result = await session.execute(statement.returning(IdempotencyKey.id, IdempotencyKey.locked_at))
    row = result.one_or_none()
    return None if row is None else Hold(row.id, row.locked_at)


async def find(
    session: AsyncSession, *, user_id: int | None, key: str, cart_id: str | None = None
) -> IdempotencyKey | None:
    scope = (
        IdempotencyKey.user_id == user_id
        if user_id is not None
        else and_(IdempotencyKey.user_id.is_(None), IdempotencyKey.cart_id == cart_id)
    )
    result = await session.execute(
        select(IdempotencyKey)
        .where(scope, IdempotencyKey.key == key)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def take_over(session: AsyncSession, row_id: int, *, lease: timedelta) -> Hold | None:
    """Hold a key nobody holds (or whose holder died: its lease ran out) and that has no
    answer. The linked order id is read by the same statement (``RETURNING``), so a link
    committed just before is never missed."""
    result = await session.execute(
        update(_keys)
        .where(
            _keys.c.id == row_id,
            _keys.c.response_status.is_(None),
            or_(_keys.c.locked_at.is_(None), _keys.c.locked_at < func.now() - lease),
        )
        .values(locked_at=func.clock_timestamp())
        .returning(_keys.c.id, _keys.c.locked_at, _keys.c.order_id)
    )
    row = result.one_or_none()
    return None if row is None else Hold(row.id, row.locked_at, row.order_id)


async def link_order(session: AsyncSession, hold: Hold, order_id: int) -> bool:
    """Link our order to the key, unless the key is no longer ours."""
    result = await session.execute(
        update(_keys)
        .where(_held(hold), _keys.c.order_id.is_(None))
        .values(order_id=order_id)
        .returning(_keys.c.id)
    )
    return result.scalar_one_or_none() is not None


async def store_answer(session: AsyncSession, hold: Hold, status_code: int, body: Any) -> None:
    await session.execute(
        update(_keys)
        .where(_held(hold))
        .values(response_status=status_code, response_body=body, locked_at=None)
    )


async def release(session: AsyncSession, hold: Hold) -> None:
    await session.execute(update(_keys).where(_held(hold)).values(locked_at=None))


PURGE_BATCH = 1000


async def purge(session: AsyncSession, *, older_than: timedelta, limit: int = PURGE_BATCH) -> int:
    """Delete keys older than the retention, a batch at a time."""
    ids = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < func.now() - older_than)
        .limit(limit)
        .with_for_update(skip_locked=True)  # workers purging at once never wait on each other
        .scalar_subquery()
    )
    result = await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)).returning(IdempotencyKey.id)
    )
    return len(result.all())
