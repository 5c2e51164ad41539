"""Jobs: what kinds exist and how a step queues one in its own transaction.

A job carries only the id of the row it works on (a webhook delivery, an e-mail):
the row holds the state, so a job that runs twice, late or after a crash finds what
is left to do there and does nothing more.
"""

from __future__ import annotations

import enum
from collections import Counter
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from ecommerce.core import metrics
from ecommerce.repositories import job as job_repository
from ecommerce.repositories.job import NewJob


class JobKind(enum.StrEnum):
    """pgqueuer entrypoints; also the ``kind`` label of the job metrics."""

    WEBHOOK_DELIVERY = "webhook.deliver"
    EMAIL = "email.send"


_PENDING_COUNTS = "ecommerce.jobs_queued"
MAX_RETRY_DELAY_SECONDS = 3600.0


def job_payload(row_id: int) -> bytes:
    return orjson.dumps({"id": row_id})


def payload_row_id(payload: bytes | None) -> int:
    value: Any = orjson.loads(payload or b"{}")
    row_id = value.get("id") if isinstance(value, dict) else None
    if not isinstance(row_id, int):
        raise ValueError("a job payload names the id of its row")
    return row_id


def retry_delay(base_seconds: float, failed_attempts: int) -> timedelta:
    """The wait after the ``failed_attempts``-th failure: base, doubling, at most an hour."""
    exponent = min(max(failed_attempts - 1, 0), 30)
    return timedelta(seconds=min(base_seconds * 2**exponent, MAX_RETRY_DELAY_SECONDS))


def job_key(kind: JobKind, row_id: int, attempt: int | str) -> str:
    """One job per row and attempt at a time: waking a row twice queues it once."""
    return f"{kind.value}:{row_id}:{attempt}"


async def enqueue(
    session: AsyncSession,
    kind: JobKind,
    row_id: int,
    *,
    attempt: int | str = 0,
    delay: timedelta | None = None,
) -> bool:
    """Queue one job for ``row_id`` in the session's transaction.

    ``False`` when the same job (row and attempt) is already queued or running.
    The queued-jobs metric counts it once the transaction commits.
    """
    job = NewJob(
        entrypoint=kind.value,
        payload=job_payload(row_id),
        dedupe_key=job_key(kind, row_id, attempt),
        delay=delay,
    )
    (job_id,) = await job_repository.enqueue(session, [job])
    if job_id is None:
        return False
    _count_on_commit(session, kind)
    return True


async def enqueue_many(session: AsyncSession, jobs: list[tuple[JobKind, int]]) -> None:
    """Queue the first attempt of each (kind, row id) in one statement (see ``enqueue``)."""
    queued = await job_repository.enqueue(
        session,
        [
            NewJob(
                entrypoint=kind.value,
                payload=job_payload(row_id),
                dedupe_key=job_key(kind, row_id, 0),
            )
            for kind, row_id in jobs
        ],
    )
    for (kind, _), job_id in zip(jobs, queued, strict=True):
        if job_id is not None:
            _count_on_commit(session, kind)


def _count_on_commit(session: AsyncSession, kind: JobKind) -> None:
    info = session.sync_session.info
    pending: Counter[str] | None = info.get(_PENDING_COUNTS)
    if pending is None:
        pending = info[_PENDING_COUNTS] = Counter()

        # once=True: a listener may not be removed while the session dispatches events.
        @event.listens_for(session.sync_session, "after_commit", once=True)
        def committed(_: Session) -> None:
            for name, count in (info.pop(_PENDING_COUNTS, None) or {}).items():
                metrics.jobs_queued(name, count)

        @event.listens_for(session.sync_session, "after_rollback", once=True)
        def rolled_back(_: Session) -> None:
            info.pop(_PENDING_COUNTS, None)

    pending[kind.value] += 1
