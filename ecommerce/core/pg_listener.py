"""One dedicated PostgreSQL connection that LISTENs on a channel, for the life of the app.

Not a pooled connection: a LISTEN belongs to its session, and a pool would hand the
connection to a request (or reset it) while notifications are due. The listener
connects with the engine's own connection arguments, calls ``on_connected`` once it
listens, ``on_message(payload)`` for every notification (on the event loop, in order),
and ``on_lost`` when the connection ends, then reconnects with a growing delay.

A connection can die without telling (a network cut): a ``SELECT 1`` every
``check_interval`` seconds finds that out, so the time a consumer believes it listens
while it does not stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

APPLICATION_NAME = "ecommerce-listener"


class PgListener:
    def __init__(
        self,
        connect_kwargs: dict[str, Any],
        channel: str,
        *,
        on_message: Callable[[str], None],
        on_connected: Callable[[], None],
        on_lost: Callable[[], None],
        connect_timeout: float = 10.0,
        check_interval: float = 5.0,
        max_retry_delay: float = 5.0,
    ) -> None:
        self.connect_kwargs = connect_kwargs
        self.channel = channel
        self.on_message = on_message
        self.on_connected = on_connected
        self.on_lost = on_lost
        self.connect_timeout = connect_timeout
        self.check_interval = check_interval
        self.max_retry_delay = max_retry_delay
        self._connected = asyncio.Event()
        self.server_pid: int | None = None  # the listening backend's pid, while connected

    @classmethod
    def for_engine(cls, engine: AsyncEngine, channel: str, **options: Any) -> PgListener:
        """A listener that connects where ``engine`` does (same host, user, database, TLS)."""
        _, kwargs = engine.sync_engine.dialect.create_connect_args(engine.url)
        return cls(dict(kwargs), channel, **options)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, seconds: float) -> bool:
        """Whether the listener listens within ``seconds``."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._connected.wait()
        return self.connected

    async def run(self) -> None:
        """Listen until cancelled, reconnecting whenever the connection is lost."""
        delay = 0.1
        while True:
            try:
                await self._listen_once()
                delay = 0.1  # it had worked: the next attempt comes quickly
            except Exception as error:  # whatever went wrong, the listener must not die
                logger.warning("listener on %s: %s; reconnecting", self.channel, error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_retry_delay)

    async def _listen_once(self) -> None:
        server_settings = {"application_name": APPLICATION_NAME}
        connection = await asyncpg.connect(
            **self.connect_kwargs, timeout=self.connect_timeout, server_settings=server_settings
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(self.channel, self._deliver)
            self.server_pid = connection.get_server_pid()
            self._connected.set()
            self.on_connected()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.check_interval)
                if not lost.is_set():
                    await connection.fetchval("SELECT 1", timeout=self.connect_timeout)
        finally:
            if self._connected.is_set():
                self._connected.clear()
                self.server_pid = None
                self.on_lost()
            connection.terminate()  # no goodbye round trip: it may be dead already

    def _deliver(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.on_message(payload)
        except Exception:  # one bad payload must not end the listening
            logger.exception("listener on %s: could not handle a notification", self.channel)
