"""The job queue's SQL: enqueue in the caller's transaction, and queue statistics.

Jobs are enqueued with pgqueuer's own enqueue query (its ids, its log row, its
NOTIFY trigger), run on the SQLAlchemy session's connection: the job row is part of
the caller's transaction, so a rolled-back change queues nothing and a committed one
cannot lose its job (the queue table is the outbox).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from pgqueuer.adapters.persistence.queries import Queries
from pgqueuer.core.tm import TaskManager
from pgqueuer.ports.driver import NotifyCallback
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ecommerce.models.job import job_log_table, job_table


class SessionConnectionDriver:
    """A pgqueuer ``Driver`` over the session's own connection, for enqueueing only.

    Statements go through SQLAlchemy (``exec_driver_sql``): SQLAlchemy begins its
    transaction lazily, on the first statement it runs itself, so using the raw asyncpg
    connection directly could run the insert outside the caller's transaction.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
        self._shutdown = asyncio.Event()

    async def fetch(self, query: str, *args: object) -> list[dict[str, object]]:
        result = await self._connection.exec_driver_sql(query, args)
        return [dict(row) for row in result.mappings().all()]

    async def execute(self, query: str, *args: object) -> str:
        await self._connection.exec_driver_sql(query, args)
        return ""

    async def notify(self, channel: str, payload: str) -> None:
        await self.execute("SELECT pg_notify($1, $2)", channel, payload)

    async def add_listener(self, channel: str, callback: NotifyCallback) -> None:
        raise NotImplementedError("a session connection only enqueues")

    @property
    def shutdown(self) -> asyncio.Event:
        return self._shutdown

    @property
    def tm(self) -> TaskManager:
        return TaskManager()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        return None


@dataclass(frozen=True)
class NewJob:
    entrypoint: str
    payload: bytes
    # Two jobs with one key are never queued (or running) at once: a duplicate is skipped.
    dedupe_key: str | None = None
    delay: timedelta | None = None


async def enqueue(session: AsyncSession, jobs: list[NewJob]) -> list[int | None]:
    """Queue ``jobs`` in the session's transaction; a duplicate key gives ``None``."""
    if not jobs:
        return []
    queries = Queries(SessionConnectionDriver(await session.connection()))
    ids = await queries.enqueue(
        [job.entrypoint for job in jobs],
        [job.payload for job in jobs],
        [0] * len(jobs),
        [job.delay for job in jobs],
        [job.dedupe_key for job in jobs],
        on_conflict="skip",
    )
    return [int(job_id) if job_id is not None else None for job_id in ids]


async def oldest_queued_created_at(session: AsyncSession) -> datetime | None:
    """When the oldest job that is due and still waiting was queued (``None``: none)."""
    statement = select(func.min(job_table.c.created)).where(
        job_table.c.status == "queued", job_table.c.execute_after <= func.now()
    )
    oldest: datetime | None = (await session.execute(statement)).scalar_one()
    return oldest


async def queued_counts(session: AsyncSession) -> dict[str, int]:
    """Jobs queued or running, by entrypoint."""
    statement = (
        select(job_table.c.entrypoint, func.count())
        .where(job_table.c.status.in_(("queued", "picked")))
        .group_by(job_table.c.entrypoint)
    )
    rows: Any = (await session.execute(statement)).all()
    return {str(entrypoint): int(count) for entrypoint, count in rows}


async def purge_log(session: AsyncSession, older_than: timedelta, limit: int) -> int:
    """Delete up to ``limit`` of pgqueuer's job-history rows older than ``older_than``
    (pgqueuer aggregates them into its statistics table but keeps them otherwise)."""
    oldest = (
        select(job_log_table.c.id)
        .where(job_log_table.c.created < func.now() - older_than)
        .order_by(job_log_table.c.id)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(
        delete(job_log_table).where(job_log_table.c.id.in_(oldest)).returning(job_log_table.c.id)
    )
    return len(result.all())
