"""Loss-free worker recycling: drain kept-alive connections, then exit.

gunicorn's own ``max_requests`` makes a worker stop at once: uvicorn then closes its
kept-alive connections, and a client that sends its next request on one of them at that
moment gets no answer (``RemoteProtocolError``; 7 of them at ~400 rps per recycle, as
measured). So gunicorn's is off, and this middleware recycles instead:

1. after ``ECOMMERCE_MAX_REQUESTS`` (+ a random part of ``ECOMMERCE_MAX_REQUESTS_JITTER``)
   requests, the worker starts draining: it stops accepting connections (its copy of
   the listening socket is closed; the other workers keep accepting on theirs), and
   every answer carries ``Connection: close``, so each client closes its connection
   after its answer, never under a request;
2. once nothing is in flight and the keep-alive timeout has passed (connections that
   stayed idle are closed by then), the worker sends itself SIGTERM: a graceful exit,
   and the gunicorn master starts a fresh worker.

Only under gunicorn (``gunicorn_config.post_fork`` sets ``RECYCLE_ENV`` in each worker):
a bare uvicorn has nobody to replace it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

RECYCLE_ENV = "ECOMMERCE_RECYCLE_AFTER"  # "requests,jitter,keepalive seconds"


def _recycle_plan() -> tuple[int, float] | None:
    raw = os.environ.get(RECYCLE_ENV)
    if not raw:
        return None
    requests, jitter, keepalive = (int(part) for part in raw.split(","))
    if requests <= 0:
        return None
    return requests + random.randint(0, max(jitter, 0)), float(keepalive)


class RecycleMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        plan = _recycle_plan()
        self.limit, self.keepalive = plan if plan else (0, 0.0)
        self.served = 0
        self.in_flight = 0
        self.draining = False
        self._idle = asyncio.Event()
        self._drain_task: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.limit:
            await self.app(scope, receive, send)
            return
        self.served += 1
        self.in_flight += 1
        self._idle.clear()
        if self.served >= self.limit and not self.draining:
            self.draining = True
            logger.info("worker %s drains after %d requests", os.getpid(), self.served)
            _stop_accepting()
            self._drain_task = asyncio.get_running_loop().create_task(self._drain())

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and self.draining:
                MutableHeaders(scope=message)["Connection"] = "close"
            await send(message)

        try:
            await self.app(scope, receive, send_closing)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def _drain(self) -> None:
        # Kept-alive connections that send nothing more close on their idle timeout.
        await asyncio.sleep(self.keepalive + 0.5)
        while self.in_flight:
            await self._idle.wait()
        logger.info("worker %s recycles (graceful exit)", os.getpid())
        os.kill(os.getpid(), signal.SIGTERM)


def _stop_accepting() -> None:
    """Close this worker's listeners: new connections go to the other workers.

    The app has no handle on the uvicorn server that runs it, so it is looked up among
    live objects, once per recycle. Without one (another server), draining still works,
    only new connections may still arrive here until the exit.
    """
    import gc

    from uvicorn import Server

    # Objects frozen at start-up (core/heap.py) are not in gc.get_objects(): the server
    # may be among them, depending on when the worker class made it. The worker exits
    # soon, so nothing is lost by letting the collector see them again.
    gc.unfreeze()
    servers = [candidate for candidate in gc.get_objects() if isinstance(candidate, Server)]
    if not servers:
        logger.warning("worker %s: no uvicorn server found; it accepts until it exits", os.getpid())
    for server in servers:
        for listener in getattr(server, "servers", []):
            listener.close()
