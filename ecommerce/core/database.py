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
from typing import Any

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
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
from ecommerce.core.errors import InvalidInput, ServiceUnavailable

logger = logging.getLogger(__name__)

APPLICATION_NAME = "ecommerce"

# Called with the seconds spent waiting for a pooled connection. The metrics module
# subscribes here so this module does not depend on it.
AcquireObserver = Callable[[float], None]


# What asyncpg raises when a connection is gone (the server stopped or restarted, the
# network cut, a backend terminated), as opposed to a statement that failed on a live one.
CONNECTION_LOST: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.InterfaceError,  # "connection is closed": another task saw it go first
    asyncpg.PostgresConnectionError,
    # A connection the server terminated under a statement can leave asyncpg's protocol
    # mid-operation ("cannot switch to state ..."): it is as dead.
    asyncpg.InternalClientError,
)


def create_engine(settings: Settings, url: str) -> AsyncEngine:
    """An engine whose every wait has a deadline: connect, pool checkout and statements.

    No ``pool_pre_ping``: it costs a round trip (three, with asyncpg: BEGIN, ping,
    ROLLBACK) on every checkout. Dead connections are found without one instead:
    a connection the server closed (a restart, a terminated backend) is known closed to
    asyncpg as soon as the event loop reads the end of its socket, and is replaced at
    checkout (``_replace_closed``); one that fails in use is invalidated by SQLAlchemy,
    which also retires every connection of the pool older than the failure. Connections
    are recycled after DB_POOL_RECYCLE seconds besides.
    """
    engine = create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        pool_recycle=settings.db_pool_recycle,
        pool_pre_ping=False,
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
    event.listen(engine.sync_engine, "checkout", _replace_closed)
    return engine


def _replace_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """At checkout: a connection already closed under us is swapped for a new one.

    A local flag, no round trip. Raising ``DisconnectionError`` here makes the pool
    discard the connection and check out another (SQLAlchemy's documented pessimistic
    disconnect handling, minus the ping).
    """
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this connection")


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
    async def read_session(self) -> AsyncIterator[AsyncSession]:
        """A session for reads that need no transaction: one statement, one round trip.

        The connection runs in autocommit, so no ``BEGIN`` goes before the statement and
        no ``COMMIT``/``ROLLBACK`` after it; each statement sees its own snapshot, which
        is what a single-statement read sees in a transaction anyway. Writing through it
        is an error of the caller (it would commit at once).
        """
        async with self.monitored_connection() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            async with self.sessionmaker(bind=conn) as session:
                yield session

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """The driver's own (asyncpg) connection under a pooled one, for hot reads.

        SQLAlchemy's session and statement layers cost about 1 ms of CPU per read on the
        2-core bench machine, against 0.2 ms for asyncpg's own prepared statement (see
        README, Performance). No transaction is open on it, so each statement commits on
        its own: reads only, and only where one statement is the whole read. The pool
        still owns the connection (checkout timed, returned, replaced when the server
        closed it); a connection that fails here is invalidated as SQLAlchemy would.
        """
        async with self.monitored_connection() as conn:
            pooled = await conn.get_raw_connection()
            try:
                yield pooled.driver_connection
            except CONNECTION_LOST:
                pooled.invalidate()
                raise ServiceUnavailable(
                    "The database connection was lost; retry shortly"
                ) from None
            except asyncpg.CharacterNotInRepertoireError:
                # As api/errors.py answers it on the SQLAlchemy path: the input's fault.
                raise InvalidInput("Text fields must not contain NUL (U+0000) characters") from None
            except (asyncpg.QueryCanceledError, asyncpg.AdminShutdownError):
                pooled.invalidate()
                raise ServiceUnavailable(
                    "The database took too long to answer; retry shortly"
                ) from None

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
