"""A real gunicorn through a database outage: a HUP (every worker replaced) while the
database is away leaves the master up, the new workers serve /health/live and answer
503 elsewhere, and everything is back once the database returns."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest

from tests.support.db_switch import database_switch
from tests.support.processes import free_port, running

pytestmark = pytest.mark.usefixtures("clean_database")


def status(base: str, path: str) -> int:
    try:
        return httpx.get(base + path, timeout=5).status_code
    except httpx.HTTPError:
        return 0


def wait_for(base: str, path: str, code: int, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if status(base, path) == code:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{path} never answered {code}")


def test_hup_while_the_database_is_away(database_url: str) -> None:
    with database_switch(database_url) as switch:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        args = [
            "-m", "gunicorn", "ecommerce.main:app",
            "-c", "gunicorn.conf.py",
            "-k", "uvicorn_worker.UvicornWorker",
            "-w", "2",
            "--bind", f"127.0.0.1:{port}",
        ]  # fmt: skip
        env = {
            "ECOMMERCE_DATABASE_URL": switch.url,
            "ECOMMERCE_DB_CONNECT_TIMEOUT": "1",
            "ECOMMERCE_FIRST_ADMIN_EMAIL": "outage.admin@example.com",
            "ECOMMERCE_FIRST_ADMIN_PASSWORD": "outage admin password",
        }
        with running(args, f"{base}/health/ready", env) as master:
            switch.cut()
            wait_for(base, "/health/ready", 503)
            os.kill(master.pid, signal.SIGHUP)  # a deploy: every worker replaced
            time.sleep(3)
            assert master.poll() is None, "the master exited"
            assert wait_for(base, "/health/live", 200) >= 0
            assert status(base, "/health/ready") == 503
            products = httpx.get(f"{base}/api/v1/products", timeout=10)
            assert products.status_code == 503
            assert isinstance(products.json()["detail"], str)
            switch.restore()
            back = wait_for(base, "/health/ready", 200)
            assert status(base, "/api/v1/products") == 200
            token = httpx.post(
                f"{base}/api/v1/auth/token",
                data={"username": "outage.admin@example.com", "password": "outage admin password"},
                timeout=30,
            )
            assert token.status_code == 200  # the admin was ensured (it existed already)
            print(f"ready {back:.2f}s after the database returned (HUP during the outage)")
            assert master.poll() is None
