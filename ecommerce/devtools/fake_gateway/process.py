"""Run the fake gateway as a background process beside the service (``serve --demo``)."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from ecommerce.core.config import FAKE_GATEWAY_URL, Settings

logger = logging.getLogger(__name__)

READY_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def running_fake_gateway(
    host: str, port: int, api_key: str
) -> Iterator[subprocess.Popen[bytes] | None]:
    """``ecommerce fake-gateway`` in a child process until the block ends.

    Yields None (and starts nothing) when something already listens there, e.g. a fake
    gateway started by hand.
    """
    if _accepts_connections(host, port):
        logger.info("a gateway already listens on %s:%s; not starting the fake one", host, port)
        yield None
        return
    command = [sys.executable, "-m", "ecommerce.cli", "fake-gateway"]
    command += ["--host", host, "--port", str(port), "--api-key", api_key]
    process = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _accepts_connections(host, port):
            if process.poll() is not None:
                raise RuntimeError(f"the fake gateway exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the fake gateway did not listen on {host}:{port}")
            time.sleep(0.1)
        logger.info("fake gateway running on http://%s:%s (pid %s)", host, port, process.pid)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def fake_gateway_beside(settings: Settings) -> Iterator[subprocess.Popen[bytes] | None]:
    """Run the fake gateway while the block runs, if the service is configured to use it."""
    if settings.gateway_base_url != FAKE_GATEWAY_URL:
        yield None
        return
    address = urlsplit(FAKE_GATEWAY_URL)
    assert address.hostname is not None and address.port is not None
    key = settings.payment_gateway_api_key.get_secret_value()
    with running_fake_gateway(address.hostname, address.port, key) as process:
        yield process
