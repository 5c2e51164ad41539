"""A real webhook receiver for tests: an aiohttp server on a free loopback port.

It answers each call with the next status of its script (then ``default``), can take
its time (``delay``) and records every request it got: headers, raw body, when.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    script: list[int] = field(default_factory=list)
    default: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        got = Received({k.lower(): v for k, v in request.headers.items()}, body, time.monotonic())
        status = self.script.pop(0) if self.script else self.default
        if self.delay:
            await asyncio.sleep(self.delay)
        async with self.arrived:
            self.received.append(got)
            self.arrived.notify_all()
        return web.Response(status=status, text="ok" if status < 300 else "no")

    async def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Until ``count`` requests arrived (each recorded once it was answered)."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return list(self.received)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    target.url = f"http://127.0.0.1:{port}/hook"
    yield target
    await runner.cleanup()
