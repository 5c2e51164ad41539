"""The fake gateway as a real HTTP server for tests, with a small control client.

It runs on the test event loop (aiohttp AppRunner on a socket bound to a free port): a
real server that the service reaches over TCP. A hung request is only a sleeping task, so
it holds nothing the service under test needs.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from aiohttp import web
from aiohttp.typedefs import Middleware

from ecommerce.devtools.fake_gateway import Mode, Operation, create_app

TEST_GATEWAY_API_KEY = "sk_test_gateway_fixture"
# httpx builds a TLS context for every client it makes (the CA bundle loaded again, a tenth
# of a second each); test clients talk plain HTTP on loopback, so they share this one.
TLS = ssl.create_default_context()


class FakeGateway:
    """Control client of a running fake gateway (its ``/_control`` routes)."""

    def __init__(self, url: str, api_key: str) -> None:
        self.url = url
        self.api_key = api_key
        self._http = httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {api_key}"}, timeout=10, verify=TLS
        )

    async def set_fault(
        self,
        mode: Mode,
        *,
        latency: float = 0,
        operations: Sequence[Operation] | None = None,
        times: int | None = None,
        **options: Any,  # status, delay, amount, currency: see faults.FaultRule
    ) -> None:
        body: dict[str, Any] = {"mode": mode, "latency": latency, "times": times, **options}
        if operations is not None:
            body["operations"] = list(operations)
        (await self._http.post("/_control/faults", json=body)).raise_for_status()

    async def clear_faults(self) -> None:
        (await self._http.delete("/_control/faults")).raise_for_status()

    async def ledger(self) -> dict[str, Any]:
        response = await self._http.get("/_control/ledger")
        response.raise_for_status()
        ledger: dict[str, Any] = response.json()
        return ledger

    async def reset(self) -> None:
        (await self._http.post("/_control/reset")).raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()


@asynccontextmanager
async def serving_fake_gateway(
    api_key: str = TEST_GATEWAY_API_KEY, middlewares: Sequence[Middleware] = ()
) -> AsyncIterator[FakeGateway]:
    """A fake gateway listening on 127.0.0.1 on a free port until the block ends.

    ``middlewares`` wrap its handlers, for a test that watches the requests arrive.
    """
    app = create_app(api_key)
    app.middlewares[:0] = middlewares  # outermost: they see what the fault rules do too
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port: no race with other tests
    port = sock.getsockname()[1]
    try:
        await web.SockSite(runner, sock).start()
        gateway = FakeGateway(f"http://127.0.0.1:{port}", api_key)
        try:
            yield gateway
        finally:
            await gateway.aclose()
    finally:
        await runner.cleanup()
        sock.close()
