"""``/metrics`` in one process (the app over ASGI): names, route labels, sources.

Metrics of one process accumulate over the whole test session, so each test compares
a scrape after its requests with one before.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.metrics import observe_gateway_request
from tests.support.metrics import Samples, labels_of, parse_samples, value

DURATION_COUNT = "http_request_duration_seconds_count"


async def scrape(client: AsyncClient) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    return parse_samples(response.text)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return (value(after, name, **labels) or 0.0) - (value(before, name, **labels) or 0.0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Exact pool counts: no background reconciler taking connections meanwhile.
    return settings.model_copy(update={"reconciler_enabled": False})


@pytest.fixture
def routed_app(app: FastAPI) -> FastAPI:
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test/items/{item_id}", read_item)
    app.add_api_route("/test/explode", explode)
    return app


async def test_metrics_is_prometheus_text_with_every_contract_metric(client: AsyncClient) -> None:
    await client.get("/health/ready")  # a pooled connection: acquire wait, pool gauges
    observe_gateway_request("charge", "succeeded", 0.05)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = parse_samples(response.text)
    names = {name for name, _ in samples}
    for name in (
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "http_requests_in_progress",
        "db_pool_connections",
        "db_pool_max_connections",
        "db_connection_acquire_seconds_bucket",
        "payment_gateway_request_seconds_bucket",
        "event_loop_lag_seconds_count",
        "gunicorn_worker_exits_total",
    ):
        assert name in names, name
    assert labels_of(samples, "db_pool_connections", "state") == {
        "checked_out",
        "idle",
        "overflow",
    }


async def test_metrics_speaks_openmetrics_when_asked(client: AsyncClient) -> None:
    response = await client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_requests_are_counted_by_route_template(
    routed_app: FastAPI, client: AsyncClient
) -> None:
    before = await scrape(client)
    for item_id in (1, 2, 3):
        assert (await client.get(f"/test/items/{item_id}")).status_code == 200
    assert (await client.get("/test/items/not-a-number")).status_code == 422
    after = await scrape(client)

    route = "/test/items/{item_id}"
    ok = {"method": "GET", "route": route, "status": "200"}
    assert delta(before, after, "http_requests_total", **ok) == 3
    assert delta(before, after, "http_requests_total", **{**ok, "status": "422"}) == 1
    assert delta(before, after, DURATION_COUNT, method="GET", route=route) == 4
    routes = labels_of(after, "http_requests_total", "route")
    assert not any(r.startswith("/test/items/") and r != route for r in routes), routes


async def test_unknown_paths_share_one_label(client: AsyncClient) -> None:
    before = await scrape(client)
    for path in ("/no/such/page", "/wp-admin.php", "/api/v1/nothing/42"):
        assert (await client.get(path)).status_code == 404
    after = await scrape(client)
    unmatched = {"method": "GET", "route": "unmatched"}
    assert delta(before, after, "http_requests_total", **unmatched, status="404") == 3
    assert delta(before, after, DURATION_COUNT, **unmatched) == 3
    routes = labels_of(after, "http_requests_total", "route")
    assert not {"/no/such/page", "/wp-admin.php", "/api/v1/nothing/42"} & routes


async def test_docs_and_their_files_are_labelled_by_route(client: AsyncClient) -> None:
    for path in ("/openapi.json", "/docs", "/static-offline-docs/swagger-ui.css"):
        assert (await client.get(path)).status_code == 200
    after = await scrape(client)
    routes = labels_of(after, "http_requests_total", "route")
    assert {"/openapi.json", "/docs", "/static-offline-docs/{path}"} <= routes
    assert "/static-offline-docs/swagger-ui.css" not in routes


async def test_wrong_method_keeps_the_route_and_odd_methods_share_a_label(
    client: AsyncClient,
) -> None:
    before = await scrape(client)
    assert (await client.delete("/health/live")).status_code == 405
    assert (await client.request("BREW", "/health/live")).status_code == 405
    after = await scrape(client)
    live = {"route": "/health/live", "status": "405"}
    assert delta(before, after, "http_requests_total", method="DELETE", **live) == 1
    assert delta(before, after, "http_requests_total", method="OTHER", **live) == 1
    assert "BREW" not in labels_of(after, "http_requests_total", "method")


async def test_unhandled_errors_are_counted_as_500(
    routed_app: FastAPI, client: AsyncClient
) -> None:
    before = await scrape(client)
    response = await client.get("/test/explode")
    assert response.status_code == 500
    after = await scrape(client)
    labels = {"method": "GET", "route": "/test/explode", "status": "500"}
    assert delta(before, after, "http_requests_total", **labels) == 1


def in_progress_now() -> float | None:
    exposition = metrics.render_latest(None)[0].decode()
    return value(parse_samples(exposition), "http_requests_in_progress")


async def test_requests_in_progress_rise_during_a_request(
    app: FastAPI, client: AsyncClient
) -> None:
    seen: list[float | None] = []

    async def probe() -> dict[str, str]:
        seen.append(in_progress_now())
        return {}

    app.add_api_route("/test/probe", probe)
    idle = in_progress_now()
    await client.get("/test/probe")
    assert idle is not None
    assert seen == [idle + 1]
    assert in_progress_now() == idle


async def test_pool_gauges_and_acquire_wait(client: AsyncClient) -> None:
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get("/health/ready")).status_code == 200
    after = await scrape(client)
    assert delta(before, after, "db_connection_acquire_seconds_count") == 3
    # The connection went back to the pool; the scrape holds none.
    assert (value(after, "db_pool_connections", state="idle") or 0) >= 1
    assert value(after, "db_pool_connections", state="checked_out") == 0
    assert value(after, "db_pool_connections", state="overflow") == 0
    assert value(after, "db_pool_max_connections") == 10  # defaults: 5 + 5


async def test_gateway_requests_are_observed_by_operation_and_outcome(
    client: AsyncClient,
) -> None:
    before = await scrape(client)
    observe_gateway_request("charge", "succeeded", 0.12)
    observe_gateway_request("charge", "succeeded", 0.3)
    observe_gateway_request("refund", "timeout", 5.0)
    after = await scrape(client)
    name = "payment_gateway_request_seconds"
    charge = {"operation": "charge", "outcome": "succeeded"}
    assert delta(before, after, f"{name}_count", **charge) == 2
    assert delta(before, after, f"{name}_bucket", **charge, le="0.25") == 1
    assert delta(before, after, f"{name}_bucket", **charge, le="0.5") == 2
    assert delta(before, after, f"{name}_sum", **charge) == pytest.approx(0.42)
    assert delta(before, after, f"{name}_count", operation="refund", outcome="timeout") == 1


async def test_event_loop_lag_measures_a_blocked_loop(client: AsyncClient) -> None:
    before = await scrape(client)
    # The app shares this event loop: block it well past the sampler's 0.1 s tick...
    time.sleep(1.5)
    # ...then let the sampler wake up (late) and record.
    for _ in range(50):
        await asyncio.sleep(0.1)
        after = await scrape(client)
        if delta(before, after, "event_loop_lag_seconds_count") >= 2:
            break
    assert delta(before, after, "event_loop_lag_seconds_count") >= 2
    # Not a speed bound: the loop was blocked for 1.5 s, so a sampler that works must
    # have recorded at least a second of lag (bench/timing.py prints the exact figure).
    assert delta(before, after, "event_loop_lag_seconds_sum") >= 0.5


async def test_metrics_route_is_in_the_openapi_schema(client: AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "text/plain" in schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
