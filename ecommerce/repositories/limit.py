"""SQL for windowed limit counters: one upsert per counted event.

A counter row is ``(key, hits, window_started_at, expires_at)``. Counting is one
``INSERT ... ON CONFLICT DO UPDATE`` that either adds one to a live window or, when the
window has passed, starts a new one in place; the row lock of the upsert serialises
concurrent hits, so no event is lost or counted twice, across any number of processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import LimitCounter

_NOW = func.now()
_SECONDS_LEFT = func.greatest(func.extract("epoch", LimitCounter.expires_at - _NOW), 0)


@dataclass(frozen=True)
class Window:
    """A live window: how many events it holds and the seconds until it ends."""

    hits: int
    window_started_at: datetime
    seconds_left: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.seconds_left))


async def hit(session: AsyncSession, key: str, window_seconds: float) -> Window:
    """Count one event for ``key``: the window's hits after it (a fresh window at 1)."""
    expires = _NOW + func.make_interval(0, 0, 0, 0, 0, 0, window_seconds)
    stale = LimitCounter.expires_at <= _NOW
    statement = (
        insert(LimitCounter)
        .values(key=key, hits=1, window_started_at=_NOW, expires_at=expires)
        .on_conflict_do_update(
            index_elements=[LimitCounter.key],
            # In DO UPDATE the table's columns are the row's old values, so every CASE
            # decides on the same, old, expiry.
            set_={
                "hits": case((stale, 1), else_=LimitCounter.hits + 1),
                "window_started_at": case((stale, _NOW), else_=LimitCounter.window_started_at),
                "expires_at": case(
                    (stale, literal_column("excluded.expires_at")), else_=LimitCounter.expires_at
                ),
            },
        )
        .returning(LimitCounter.hits, LimitCounter.window_started_at, _SECONDS_LEFT)
    )
    row = (await session.execute(statement)).one()
    return Window(int(row[0]), row[1], float(row[2]))


# An advisory transaction lock: the two int4 keys of ``pg_advisory_xact_lock``.
LockKey = tuple[int, int]


def _lock(key: LockKey) -> ColumnElement[Any]:
    return func.pg_advisory_xact_lock(
        cast(literal(key[0]), Integer), cast(literal(key[1]), Integer)
    )


async def peek(session: AsyncSession, key: str, *, lock: LockKey | None = None) -> Window | None:
    """The live window of ``key``, if any (a passed one counts as none).

    ``lock``: an advisory transaction lock taken in the same round trip, for a caller
    that needs both (the lock is held until its transaction ends).
    """
    live = and_(LimitCounter.key == key, LimitCounter.expires_at > _NOW)
    columns: list[Any] = [LimitCounter.hits, LimitCounter.window_started_at, _SECONDS_LEFT]
    if lock is None:
        statement = select(*columns).where(live)
    else:  # one row whatever the counter: the lock, and the window if there is one
        one = select(literal(1).label("one")).subquery("one")
        statement = select(*columns, _lock(lock)).select_from(one).outerjoin(LimitCounter, live)
    row = (await session.execute(statement)).one_or_none()
    if row is None or row[0] is None:
        return None
    return Window(int(row[0]), row[1], float(row[2]))


async def take_lock(session: AsyncSession, lock: LockKey) -> None:
    """Take an advisory transaction lock (``peek``'s ``lock`` without a counter to read)."""
    await session.execute(select(_lock(lock)))


async def unhit(session: AsyncSession, key: str, window_started_at: datetime) -> None:
    """Take back one event of that window (not of a later one that replaced it)."""
    statement = (
        update(LimitCounter)
        .where(
            LimitCounter.key == key,
            LimitCounter.window_started_at == window_started_at,
            LimitCounter.hits > 0,
        )
        .values(hits=LimitCounter.hits - 1)
    )
    await session.execute(statement)


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(LimitCounter).where(LimitCounter.key == key))


async def purge_expired(session: AsyncSession, batch: int = 1000) -> int:
    """Delete up to ``batch`` passed windows (they count as nothing anyway)."""
    statement = text(
        "DELETE FROM limit_counter WHERE key IN (SELECT key FROM limit_counter "
        "WHERE expires_at < now() ORDER BY expires_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
    )
    result = await session.execute(statement, {"batch": batch})
    return int(getattr(result, "rowcount", 0) or 0)
