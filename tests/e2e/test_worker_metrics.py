"""`ecommerce worker` on its own: its metrics are scraped from it (ECOMMERCE_WORKER_METRICS_PORT),
and a port it cannot listen on stops it with one line."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import TEST_JWT_SECRET
from tests.support.gateway import FakeGateway
from tests.support.processes import free_port
from tests.support.served import ECOMMERCE, serving, working


@pytest.fixture
def env(database_url: str, fake_gateway: FakeGateway, tmp_path: Path) -> dict[str, str]:
    return {
        "ECOMMERCE_DATABASE_URL": database_url,
        "ECOMMERCE_JWT_SECRET": TEST_JWT_SECRET,
        "ECOMMERCE_PAYMENT_GATEWAY_URL": fake_gateway.url,
        "ECOMMERCE_PAYMENT_GATEWAY_API_KEY": fake_gateway.api_key,
        "ECOMMERCE_DATA_DIR": str(tmp_path / "unused"),
        "ECOMMERCE_WORKER_IN_PROCESS": "false",  # only the worker sends e-mails
    }


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


async def scrape_when_up(url: str) -> str:
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(300):
            try:
                if (await http.get(f"{url}/health/live")).status_code == 200:
                    return (await http.get(f"{url}/metrics")).text
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


async def test_the_worker_exposes_what_it_consumed(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    # A directory meant for gunicorn's workers (a shared environment) is not used: the
    # worker's counts would mix with theirs.
    shared = tmp_path / "prometheus"
    shared.mkdir()
    worker_env = {
        **env,
        "ECOMMERCE_WORKER_METRICS_PORT": str(port),
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    metrics_url = f"http://127.0.0.1:{port}"
    async with (
        serving(env) as server,
        working(worker_env),
        httpx.AsyncClient(base_url=server.url or "", timeout=30) as http,
    ):
        first = await scrape_when_up(metrics_url)
        logged = {"kind": "password_reset", "outcome": "logged"}
        assert sample(first, "email_send_attempts_total", **logged) == 0
        assert sample(first, "jobs_processed_total", kind="email.send") == 0
        assert sample(first, "db_pool_connections", state="idle") is not None

        email = "worker.metrics@example.com"
        registered = await http.post(
            "/api/v1/auth/register", json={"email": email, "password": "correct horse 1"}
        )
        assert registered.status_code == 201, registered.text
        asked = await http.post("/api/v1/auth/password-reset", json={"email": email})
        assert asked.status_code == 202

        for _ in range(300):  # the worker, not the web process, sends it (to the log)
            text = (await http.get(f"{metrics_url}/metrics")).text
            if sample(text, "email_send_attempts_total", **logged) == 1:
                break
            await asyncio.sleep(0.1)
        assert sample(text, "email_send_attempts_total", **logged) == 1
        assert sample(text, "jobs_processed_total", kind="email.send") == 1
        assert (sample(text, "event_loop_lag_seconds_count") or 0) >= 1
    assert list(shared.iterdir()) == []


def test_a_metrics_port_in_use_stops_the_worker_with_one_line(env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [ECOMMERCE, "worker"],
            env={**os.environ, **env, "ECOMMERCE_WORKER_METRICS_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2  # as every configuration error
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
