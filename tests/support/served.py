"""A real `ecommerce` process (gunicorn serve, or a queue worker) for async e2e tests.

Started with its own process group so a test can SIGKILL it whole, as a crash would;
the waits run in a thread so the test's own servers (webhook receiver, SMTP) keep
answering meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tests.support.processes import ROOT, free_port, wait_until_ready

ECOMMERCE = str(Path(sys.executable).with_name("ecommerce"))


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    url: str | None = None

    def kill(self) -> None:
        """SIGKILL the process and all it started: no shutdown code runs."""
        os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    async def stop(self, timeout: float = 60) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                await asyncio.to_thread(self.popen.wait, timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def _start(args: list[str], env: dict[str, str], output: IO[bytes] | None) -> Process:
    popen = subprocess.Popen(
        [ECOMMERCE, *args],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    return Process(popen)


@asynccontextmanager
async def serving(
    env: dict[str, str], workers: int = 1, output: IO[bytes] | None = None
) -> AsyncIterator[Process]:
    """`ecommerce serve` (migrations, then gunicorn) on a free port until the block ends."""
    port = free_port()
    process = _start(
        ["serve", "--workers", str(workers), "--bind", f"127.0.0.1:{port}"], env, output
    )
    process.url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_until_ready, f"{process.url}/health/ready", process.popen)
        yield process
    finally:
        await process.stop()


@asynccontextmanager
async def working(env: dict[str, str], output: IO[bytes] | None = None) -> AsyncIterator[Process]:
    """`ecommerce worker` until the block ends."""
    process = _start(["worker"], env, output)
    try:
        yield process
    finally:
        await process.stop()
