"""Engine, pool, sessions and the monitored connection.

Everything here is made in the lifespan (``Database.connect``) and closed on shutdown;
importing this module opens nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import QueuePool

from ecommerce.core.config import Settings
from ecommerce.core.errors import ServiceUnavailable

logger = logging.getLogger(__name__)

APPLICATION_NAME = "ecommerce"

# Called with the seconds spent waiting for a pooled connection. The metrics module
# subscribes here so this module does not depend on it.
AcquireObserver = Callable[[float], None]


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    """An engine whose every wait has a deadline: connect, pool checkout and statements."""
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=True,
        connect_args={
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_statement_timeout + 5,
            "server_settings": {
                "application_name": APPLICATION_NAME,
                "statement_timeout": str(int(settings.db_statement_timeout * 1000)),
                # A transaction left idle (a bug, a stuck client) must not hold locks forever.
                "idle_in_transaction_session_timeout": str(
                    int(max(settings.db_statement_timeout * 2, 60) * 1000)
                ),
            },
        },
    )


@dataclass
class Database:
    """The process's engine and sessionmaker, handed out through dependencies."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    acquire_observers: list[AcquireObserver] = field(default_factory=list)

    @classmethod
    def connect(cls, settings: Settings, url: str) -> Database:
        engine = create_engine(settings, url)
        return cls(engine, async_sessionmaker(engine, expire_on_commit=False))

    async def dispose(self) -> None:
        await self.engine.dispose()

    @asynccontextmanager
    async def monitored_connection(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection whose checkout wait is measured and reported."""
        started = time.perf_counter()
        try:
            conn = await self.engine.connect()
        except PoolTimeout:
            # Every connection of this worker's pool stayed busy for DB_POOL_TIMEOUT.
            raise ServiceUnavailable("The database is busy; retry shortly") from None
        except (OSError, DBAPIError) as error:
            logger.warning("cannot connect to the database: %s", type(error).__name__)
            raise ServiceUnavailable("The database cannot be reached") from None
        finally:
            # Failed waits too: a pool timeout is the slowest wait of all.
            waited = time.perf_counter() - started
            for observe in self.acquire_observers:
                observe(waited)
        try:
            yield conn
        finally:
            await conn.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session of its own on a monitored connection, for a request or a task.

        Never share it between concurrent tasks. Nothing is committed here: this is for
        reads, and for the request dependency, which commits before the response.
        """
        async with self.monitored_connection() as conn, self.sessionmaker(bind=conn) as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The unit of work of a workflow: one short transaction, committed when the block
        ends normally and rolled back when it raises.

        With the request dependency, this is the only place in the service that commits
        (DESIGN "One way to commit"): steps only flush.
        """
        async with self.session() as session:
            yield session
            await session.commit()

    async def ping(self) -> None:
        async with self.monitored_connection() as conn:
            await conn.execute(text("SELECT 1"))

    def pool_status(self) -> dict[str, int]:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool):
            return {"checked_out": 0, "idle": 0, "overflow": 0}
        return {
            "checked_out": pool.checkedout(),
            "idle": pool.checkedin(),
            "overflow": max(pool.overflow(), 0),
        }
