"""Every metric the contract names is in the very first scrape, labelled ones at zero."""

from __future__ import annotations

from httpx import AsyncClient

from tests.support.metrics import parse_samples, value


async def test_first_scrape_has_every_contract_metric(client: AsyncClient) -> None:
    samples = parse_samples((await client.get("/metrics")).text)
    for operation in ("charge", "lookup", "refund"):
        for outcome in ("success", "declined", "error", "unavailable", "timeout"):
            count = value(
                samples,
                "payment_gateway_request_seconds_count",
                operation=operation,
                outcome=outcome,
            )
            assert count is not None, (operation, outcome)
    assert value(samples, "http_requests_total", method="POST", route="/api/v1/orders",
                 status="200") is not None  # fmt: skip
    assert (
        value(samples, "http_request_duration_seconds_count", method="GET",
              route="/api/v1/products/{id}") is not None
    )  # fmt: skip
    for state in ("checked_out", "idle", "overflow"):
        assert value(samples, "db_pool_connections", state=state) is not None
    assert value(samples, "orphan_charges_total", reason="late") == 0
    assert value(samples, "orders_unsettled_oldest_seconds", state="pending") == 0
    names = {name for name, _ in samples}
    for family in ("db_connection_acquire_seconds_count", "event_loop_lag_seconds_count"):
        assert family in names, family
