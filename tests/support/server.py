"""The app served by a real uvicorn in a thread of the test process, on a real socket.

Unlike a gunicorn subprocess, the test can then look inside the serving app (its
``Database`` pool) while a client misbehaves on the other end of a TCP connection.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from ecommerce.api.resources import STATE_KEY, Resources


@dataclass(frozen=True)
class Served:
    url: str
    resources: Resources  # what the served app's lifespan built


@contextmanager
def serve_in_thread(app: FastAPI, *, send_buffer: int | None = None) -> Iterator[Served]:
    """Serve ``app`` (lifespan included) on a free loopback port; yield its URL and resources.

    ``send_buffer`` shrinks the kernel's send buffer of accepted connections (they
    inherit the listening socket's), so a client that stops reading stalls the server
    after a few kilobytes instead of megabytes.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield Served(f"http://127.0.0.1:{port}", server.lifespan.state[STATE_KEY])
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
