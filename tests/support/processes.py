"""Real server processes for end-to-end tests: start on a free port, wait, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@contextmanager
def running(
    args: Sequence[str],
    ready_url: str,
    env: dict[str, str] | None = None,
    output: IO[bytes] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` (a Python module command line) until the block ends.

    ``output``: a file that receives the process's stdout and stderr (default: inherited).
    """
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    try:
        wait_until_ready(ready_url, process)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextmanager
def gunicorn(
    database_url: str,
    workers: int = 2,
    env: dict[str, str] | None = None,
    output: IO[bytes] | None = None,
) -> Iterator[str]:
    """A real gunicorn with uvicorn workers serving the app; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [
        "-m", "gunicorn", "ecommerce.main:app",
        "-c", "gunicorn.conf.py",
        "-k", "uvicorn_worker.UvicornWorker",
        "-w", str(workers),
        "--bind", f"127.0.0.1:{port}",
    ]  # fmt: skip
    full_env = {"ECOMMERCE_DATABASE_URL": database_url, **(env or {})}
    with running(args, f"{base}/health/ready", full_env, output):
        yield base
