"""Operations on a real gunicorn with two uvicorn workers: metrics summed over both
workers, worker exits, the pool-size warning and the production (JSON) logs.

One server for the module (the machine is small). Only
``test_requests_of_both_workers_are_summed`` sends ``GET /health/live``, so it can
check an exact count; the other tests compare scrapes before and after.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.deployment import dockerfile_instructions
from tests.support.metrics import (
    Samples,
    labels_of,
    live_worker_pids,
    parse_samples,
    value,
    value_by_pid,
)
from tests.support.processes import ROOT, free_port, gunicorn, running

pytestmark = pytest.mark.usefixtures("clean_database")  # what the requests write

WORKERS = 2
POOL_SIZE, MAX_OVERFLOW = 200, 5  # far more than the test database's max_connections
STALE_COUNT = 1000.0
LIVE = {"method": "GET", "route": "/health/live", "status": "200"}
SECRETS = ("Sup3r-Secret-Passw0rd", "bearer-secret-abc123", "tok_visa", "query-secret-xyz")


@dataclass
class Server:
    base: str
    metrics_dir: Path
    log: Path

    def scrape(self) -> Samples:
        response = httpx.get(f"{self.base}/metrics", timeout=10)
        assert response.status_code == 200
        return parse_samples(response.text)

    def log_lines(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


def write_stale_counter(directory: Path) -> None:
    """What a previous run would have left: the launcher must empty the directory."""
    stale = MmapedDict(str(directory / "counter_1.db"))  # type: ignore[no-untyped-call]
    key = mmap_key(
        "http_requests",
        "http_requests_total",
        ["method", "route", "status"],
        [LIVE["method"], LIVE["route"], LIVE["status"]],
        "stale",
    )
    stale.write_value(key, STALE_COUNT, 0.0)  # type: ignore[no-untyped-call]
    stale.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("operations")
    metrics_dir = root / "prometheus"
    metrics_dir.mkdir()
    write_stale_counter(metrics_dir)
    log = root / "gunicorn.log"
    env = {
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "ECOMMERCE_LOG_JSON": "true",
        "ECOMMERCE_DB_POOL_SIZE": str(POOL_SIZE),
        "ECOMMERCE_DB_MAX_OVERFLOW": str(MAX_OVERFLOW),
    }
    with log.open("wb") as output, gunicorn(database_url, WORKERS, env, output) as base:
        yield Server(base, metrics_dir, log)


def wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.2)


def test_requests_of_both_workers_are_summed(server: Server) -> None:
    sent = 0
    # A new connection per request lets either worker accept it; keep going (bounded)
    # until both have answered some.
    with httpx.Client(base_url=server.base, timeout=5) as http:
        while sent < 400:
            for _ in range(10):
                response = http.get("/health/live", headers={"Connection": "close"})
                assert response.status_code == 200
                sent += 1
            per_worker = value_by_pid(server.metrics_dir, "http_requests_total", **LIVE)
            if len([count for count in per_worker.values() if count > 0]) >= WORKERS:
                break

    # A request is counted once its response has gone out, a moment after the client
    # has it: give the last one that moment (bounded), then everything must add up.
    def all_counted() -> bool:
        counts = value_by_pid(server.metrics_dir, "http_requests_total", **LIVE)
        return sum(counts.values()) >= sent

    wait_for(all_counted, timeout=10)
    per_worker = value_by_pid(server.metrics_dir, "http_requests_total", **LIVE)
    assert len(per_worker) == WORKERS, per_worker
    assert all(count > 0 for count in per_worker.values()), per_worker
    assert sum(per_worker.values()) == sent

    samples = server.scrape()
    # Both workers' files, and nothing of the previous run's stale file.
    assert value(samples, "http_requests_total", **LIVE) == sent
    live = {"method": "GET", "route": "/health/live"}
    assert value(samples, "http_request_duration_seconds_count", **live) == sent
    assert value(samples, "http_request_duration_seconds_bucket", **live, le="+Inf") == sent


def test_histograms_are_labelled_by_route_template(server: Server) -> None:
    before = server.scrape()
    unmatched = {"method": "GET", "route": "unmatched"}
    with httpx.Client(base_url=server.base, timeout=5) as http:
        for i in range(5):
            assert http.get(f"/no/such/page/{i}").status_code == 404
    name = "http_request_duration_seconds_count"

    def unmatched_count(samples: Samples) -> float:
        return value(samples, name, **unmatched) or 0

    # Counted just after each response went out (see the first test).
    wait_for(lambda: unmatched_count(server.scrape()) >= unmatched_count(before) + 5)
    after = server.scrape()
    assert unmatched_count(after) - unmatched_count(before) == 5
    routes = labels_of(after, "http_request_duration_seconds_bucket", "route")
    assert "/health/live" in routes or "/metrics" in routes
    assert not any(route.startswith("/no/such") for route in routes), routes


def test_pool_gauges_and_loop_lag_cover_every_worker(server: Server) -> None:
    # Every worker samples its loop every 0.1 s from start-up.
    wait_for(lambda: (value(server.scrape(), "event_loop_lag_seconds_count") or 0) >= 2)
    samples = server.scrape()
    assert labels_of(samples, "db_pool_connections", "state") == {
        "checked_out",
        "idle",
        "overflow",
    }
    # livesum: each live worker adds its own pool's capacity.
    assert value(samples, "db_pool_max_connections") == WORKERS * (POOL_SIZE + MAX_OVERFLOW)
    assert value(samples, "event_loop_lag_seconds_bucket", le="+Inf") is not None


def test_a_worker_exit_is_counted_and_its_live_gauges_dropped(server: Server) -> None:
    workers = live_worker_pids(server.metrics_dir)
    assert len(workers) == WORKERS
    before = server.scrape()
    victim = min(workers)
    os.kill(victim, signal.SIGTERM)  # a worker of the server this test started
    wait_for(
        lambda: (
            victim not in live_worker_pids(server.metrics_dir)
            and len(live_worker_pids(server.metrics_dir)) == WORKERS
        )
    )
    wait_for(lambda: value(server.scrape(), "gunicorn_worker_exits_total") == 1)
    # Once the replacement's lifespan has run, its pool is counted, the dead one's not.
    expected = WORKERS * (POOL_SIZE + MAX_OVERFLOW)
    wait_for(lambda: value(server.scrape(), "db_pool_max_connections") == expected)
    after = server.scrape()
    assert victim not in live_worker_pids(server.metrics_dir)
    # Counters keep what the dead worker counted.
    assert value(after, "http_requests_total", **LIVE) == value(
        before, "http_requests_total", **LIVE
    )


async def test_pool_too_big_for_the_database_is_warned(
    server: Server, admin_engine: AsyncEngine
) -> None:
    async with admin_engine.connect() as conn:
        max_connections = int(await conn.scalar(text("SHOW max_connections")))
    # Each worker's full pool, its catalog LISTEN and its job consumer (both on here).
    needed = WORKERS * (POOL_SIZE + MAX_OVERFLOW + 2)
    assert needed > max_connections
    warnings = [
        line
        for line in server.log_lines()
        if line["level"] == "WARNING" and "max_connections" in line["message"]
    ]
    assert len(warnings) == 1, warnings
    message = warnings[0]["message"]
    assert f"need {needed} connections" in message
    assert "+ 1 catalog LISTEN + 1 job consumer" in message
    assert f"max_connections is {max_connections}" in message


def access_lines(server: Server, request_id: str) -> list[dict[str, Any]]:
    return [line for line in server.log_lines() if line.get("request_id") == request_id]


def test_logs_are_json_with_one_access_line_per_request(server: Server) -> None:
    request_id = f"ops-{uuid.uuid4().hex}"
    barrier = f"ops-after-{uuid.uuid4().hex}"
    # Two requests on one kept-alive connection: one worker answers both, in order, and
    # its log lines go out in order. Once the second one's line is written, a duplicate
    # line of the first (from uvicorn or gunicorn) would be written too: no sleep needed.
    with httpx.Client(base_url=server.base, timeout=5) as http:
        response = http.get("/no/such/thing", headers={"X-Request-ID": request_id})
        assert response.status_code == 404
        http.get("/no/such/thing", headers={"X-Request-ID": barrier})
    wait_for(lambda: access_lines(server, barrier), timeout=10)
    [line] = access_lines(server, request_id)  # no uvicorn or gunicorn access line too
    assert line["logger"] == "ecommerce.access"
    assert line["method"] == "GET"
    assert line["route"] == "unmatched"
    assert line["path"] == "/no/such/thing"
    assert line["status"] == 404
    assert line["duration_ms"] >= 0
    # Master and workers alike write JSON (log_lines() parses every line).
    loggers = {line["logger"] for line in server.log_lines()}
    assert {"gunicorn.error", "uvicorn.error", "ecommerce", "ecommerce.access"} <= loggers
    assert not {"gunicorn.access", "uvicorn.access"} & loggers


def test_passwords_tokens_and_card_tokens_stay_out_of_the_logs(server: Server) -> None:
    request_ids = [f"secret-{uuid.uuid4().hex}" for _ in range(3)]
    bearer = {"Authorization": "Bearer bearer-secret-abc123"}
    with httpx.Client(base_url=server.base, timeout=5) as http:
        http.post(
            "/api/v1/auth/register?token=query-secret-xyz",
            json={
                "email": "who@example.com",
                "password": "Sup3r-Secret-Passw0rd",
                "payment_token": "tok_visa",
            },
            headers={**bearer, "X-Request-ID": request_ids[0]},
        )
        http.post(
            "/api/v1/auth/token?access_token=query-secret-xyz",
            data={"username": "who@example.com", "password": "Sup3r-Secret-Passw0rd"},
            headers={**bearer, "X-Request-ID": request_ids[1]},
        )
        http.post(
            "/api/v1/orders",
            json={"items": [{"product_id": 1, "quantity": 1}], "payment_token": "tok_visa"},
            headers={**bearer, "X-Request-ID": request_ids[2]},
        )
    # The requests were logged (so the check below looks at real lines)...
    wait_for(lambda: all(access_lines(server, rid) for rid in request_ids), timeout=10)
    paths = [access_lines(server, rid)[0]["path"] for rid in request_ids]
    assert paths == ["/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/orders"]
    # ...and nothing secret is anywhere in the server's output.
    output = server.log.read_text()
    for secret in SECRETS:
        assert secret not in output, secret


def test_serve_stops_gracefully_on_sigterm(database_url: str, tmp_path: Path) -> None:
    """``ecommerce serve`` is the container's PID 1: SIGTERM to it must stop gunicorn."""
    port = free_port()
    args = ["-m", "ecommerce.cli", "serve", "--workers", "1", "--bind", f"127.0.0.1:{port}"]
    env = {"ECOMMERCE_DATABASE_URL": database_url, "ECOMMERCE_LOG_JSON": "true"}
    log = tmp_path / "serve.log"
    with (
        log.open("wb") as output,
        running(args, f"http://127.0.0.1:{port}/health/ready", env, output) as process,
    ):
        os.kill(process.pid, signal.SIGTERM)  # the process itself, not its group
        assert process.wait(timeout=60) == 0
    messages = [json.loads(line)["message"] for line in log.read_text().splitlines() if line]
    assert "Handling signal: term" in messages
    assert "Shutting down: Master" in messages
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=2)


def test_the_images_healthcheck_passes_against_a_serving_instance(server: Server) -> None:
    [healthcheck] = [
        i for i in dockerfile_instructions(ROOT / "Dockerfile") if i.keyword == "HEALTHCHECK"
    ]
    command = healthcheck.exec_form()
    assert command is not None and command[0] == "python"
    port = server.base.rpartition(":")[2]
    up = subprocess.run(
        [sys.executable, *command[1:]],
        env={**os.environ, "ECOMMERCE_BIND": f"0.0.0.0:{port}"},
        capture_output=True,
        timeout=30,
    )
    assert up.returncode == 0, up.stderr
    down = subprocess.run(
        [sys.executable, *command[1:]],
        env={**os.environ, "ECOMMERCE_BIND": f"0.0.0.0:{free_port()}"},
        capture_output=True,
        timeout=30,
    )
    assert down.returncode != 0
