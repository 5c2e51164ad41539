"""The queue consumer: pgqueuer's QueueManager and scheduler over a connection of its own.

One ``Consumer`` runs in each web worker (``ECOMMERCE_WORKER_IN_PROCESS``) and in each
``ecommerce worker`` process, on any number of machines: jobs are taken with
``FOR UPDATE SKIP LOCKED`` and woken by LISTEN/NOTIFY, so each job runs in one place.
The jobs do their database work on the process's own pool (``Database``), in short
transactions; the consumer's connection only dequeues, logs and listens. A lost
connection is re-opened with a growing pause; stopping lets running jobs finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from pgqueuer import PgQueuer
from pgqueuer.adapters.drivers.asyncpg import AsyncpgDriver
from pgqueuer.models import Job, Schedule
from sqlalchemy.engine import make_url

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.database import CONNECTION_LOST, Database
from ecommerce.repositories import job as job_repository
from ecommerce.services import sweeper
from ecommerce.services.email_delivery import send_email
from ecommerce.services.jobs import JobKind, payload_row_id
from ecommerce.services.mailer import Mailer
from ecommerce.services.webhook_client import WebhookClient
from ecommerce.services.webhook_delivery import deliver

logger = logging.getLogger(__name__)


class OutageAsWarning(logging.Filter):
    """pgqueuer logs what stops its manager at ERROR, with a stack, before the consumer
    sees it. When that is the database going away (a restart, a failover), the consumer
    says so as a warning and reconnects: an expected outage must not page anyone, so
    pgqueuer's record becomes one warning line too. Anything else stays an ERROR."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if record.levelno >= logging.ERROR and isinstance(error, CONNECTION_LOST):
            record.msg = f"{record.getMessage()}: the database is away ({type(error).__name__})"
            record.args = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


_OUTAGE_AS_WARNING = OutageAsWarning()

SWEEP_ENTRYPOINT = "ecommerce.sweep"
SWEEP_CRON = "* * * * *"  # pgqueuer runs it once a minute across every consumer
AGE_SAMPLE_INTERVAL = 5.0
HEARTBEAT_TIMEOUT = timedelta(seconds=30)  # a dead consumer's jobs are taken over after it
DEQUEUE_TIMEOUT = timedelta(seconds=10)  # a poll even if a NOTIFY was missed
STOP_GRACE_SECONDS = 20.0


def asyncpg_connect_args(url: str) -> dict[str, Any]:
    """asyncpg.connect() arguments for the service's SQLAlchemy URL."""
    parsed = make_url(url)
    args: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "database": parsed.database,
    }
    for key, value in parsed.query.items():  # e.g. host=/socket/dir for a Unix socket
        args[key] = value if isinstance(value, str) else value[-1]
    if "port" in args and isinstance(args["port"], str):
        args["port"] = int(args["port"])
    return {key: value for key, value in args.items() if value is not None}


@dataclass
class Consumer:
    settings: Settings
    database: Database
    url: str
    webhooks: WebhookClient
    mailer: Mailer
    concurrency: int
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _pgq: PgQueuer | None = None

    async def _handle_webhook(self, job: Job) -> None:
        await self._run(JobKind.WEBHOOK_DELIVERY, job)

    async def _handle_email(self, job: Job) -> None:
        await self._run(JobKind.EMAIL, job)

    async def _run(self, kind: JobKind, job: Job) -> None:
        try:
            row_id = payload_row_id(job.payload)
            if kind is JobKind.WEBHOOK_DELIVERY:
                await deliver(self.database, self.webhooks, self.settings, row_id)
            else:
                await send_email(self.database, self.mailer, self.settings, row_id)
        except Exception:
            # The row stays pending: the sweeper queues it again.
            metrics.job_finished(kind.value, failed=True)
            raise
        metrics.job_finished(kind.value, failed=False)

    async def _sweep(self, schedule: Schedule) -> None:
        await sweeper.requeue_lost(self.database)

    def _build(self, connection: asyncpg.Connection) -> PgQueuer:
        pgq = PgQueuer(AsyncpgDriver(connection))
        pgq.entrypoint(JobKind.WEBHOOK_DELIVERY.value, accepts_context=False)(self._handle_webhook)
        pgq.entrypoint(JobKind.EMAIL.value, accepts_context=False)(self._handle_email)
        pgq.schedule(SWEEP_ENTRYPOINT, SWEEP_CRON, accepts_context=False)(self._sweep)
        return pgq

    async def _run_once(self) -> None:
        connection = await asyncpg.connect(
            **asyncpg_connect_args(self.url),
            timeout=self.settings.db_connect_timeout,
            command_timeout=self.settings.db_statement_timeout + 5,
            server_settings={"application_name": "ecommerce-consumer"},
        )
        try:
            pgq = self._build(connection)
            self._pgq = pgq
            if self._stop.is_set():
                return
            batch = max(1, self.concurrency // 2)
            await pgq.run(
                dequeue_timeout=DEQUEUE_TIMEOUT,
                batch_size=batch,
                max_concurrent_tasks=max(self.concurrency, 2 * batch),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
            )
        finally:
            self._pgq = None
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

    async def run(self) -> None:
        """Consume until ``stop()``; reconnect after a lost connection."""
        pgqueuer_logger = logging.getLogger("pgqueuer")
        if _OUTAGE_AS_WARNING not in pgqueuer_logger.filters:
            pgqueuer_logger.addFilter(_OUTAGE_AS_WARNING)
        pause = 1.0
        while not self._stop.is_set():
            started = asyncio.get_running_loop().time()
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except (*CONNECTION_LOST, asyncpg.PostgresError, TimeoutError) as error:
                # The database is away (or restarting): no stack, it says nothing more.
                logger.warning(
                    "job consumer lost the database (%s); retrying in %.0f s",
                    type(error).__name__,
                    pause,
                )
            except Exception:
                logger.exception("job consumer stopped; restarting in %.0f s", pause)
            if self._stop.is_set():
                break
            if asyncio.get_running_loop().time() - started > 60:
                pause = 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
            pause = min(pause * 2, 30.0)

    def stop(self) -> None:
        self._stop.set()
        if self._pgq is not None:
            self._pgq.shutdown.set()

    async def sample_queue_age(self) -> None:
        """Forever: the age of the oldest due job nobody has taken, as a gauge."""
        while True:
            try:
                async with self.database.session() as session:
                    oldest = await job_repository.oldest_queued_created_at(session)
                age = 0.0 if oldest is None else (datetime.now(UTC) - oldest).total_seconds()
                metrics.record_oldest_pending_age(age)
            except Exception as error:  # the database is away: the gauge keeps its value
                logger.debug("could not read the job queue's age: %s", type(error).__name__)
            await asyncio.sleep(AGE_SAMPLE_INTERVAL)


@contextlib.asynccontextmanager
async def consuming(settings: Settings, database: Database, url: str) -> AsyncIterator[Consumer]:
    """For a lifespan: the webhook client and mailer, and a consumer running on them.

    Closed in reverse order: the consumer stops (its running jobs finish) before the
    webhook session closes.
    """
    webhooks = WebhookClient.open(settings)
    try:
        consumer = Consumer(
            settings=settings,
            database=database,
            url=url,
            webhooks=webhooks,
            mailer=Mailer(settings),
            concurrency=settings.worker_concurrency,
        )
        async with running(consumer):
            yield consumer
    finally:
        await webhooks.close()


@contextlib.asynccontextmanager
async def running(consumer: Consumer) -> AsyncIterator[Consumer]:
    """Run ``consumer`` (and its age sampler) for the life of the block."""
    task = asyncio.create_task(consumer.run(), name="job-consumer")
    sampler = asyncio.create_task(consumer.sample_queue_age(), name="job-queue-age")
    try:
        yield consumer
    finally:
        consumer.stop()
        sampler.cancel()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
        if not done:
            logger.warning("job consumer did not stop in time; cancelling its jobs")
            task.cancel()
        for pending in (task, sampler):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
