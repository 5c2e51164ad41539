"""The access log: one line per request, its fields, and nothing secret in it.

The gunicorn test (tests/e2e/test_gunicorn_operations.py) checks the same on a real server's
output; these run the app over ASGI and format the records with our formatters.
"""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI, Request
from httpx import AsyncClient

from ecommerce.api.middlewares import set_log_user
from ecommerce.core.logging import JsonFormatter, TextFormatter

SECRETS = ("Sup3r-Secret-Passw0rd", "bearer-secret-abc123", "tok_visa", "query-secret-xyz")


def access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ecommerce.access"]


@pytest.fixture
def user_app(app: FastAPI) -> FastAPI:
    async def whoami(request: Request, user_id: int) -> dict[str, int]:
        set_log_user(request, user_id)  # what the auth dependency does
        return {"user_id": user_id}

    app.add_api_route("/test/users/{user_id}/whoami", whoami)
    return app


async def test_one_line_per_request_with_its_fields(
    user_app: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        response = await client.get(
            "/test/users/7/whoami?verbose=1", headers={"X-Request-ID": "req-access-1"}
        )
    assert response.status_code == 200
    [record] = access_records(caplog)
    fields = vars(record)
    assert fields["request_id"] == "req-access-1"
    assert fields["method"] == "GET"
    assert fields["route"] == "/test/users/{user_id}/whoami"
    assert fields["path"] == "/test/users/7/whoami"  # never the query string
    assert fields["status"] == 200
    assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
    assert fields["user_id"] == 7
    assert record.levelno == logging.INFO


async def test_anonymous_requests_have_no_user(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await client.get("/no/such/page")
    [record] = access_records(caplog)
    assert record.route == "unmatched"  # type: ignore[attr-defined]
    assert record.status == 404  # type: ignore[attr-defined]
    assert not hasattr(record, "user_id")


async def test_unhandled_error_gets_an_access_line_with_status_500(
    app: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/test/explode", explode)
    with caplog.at_level(logging.INFO):
        await client.get("/test/explode", headers={"X-Request-ID": "req-access-500"})
    [record] = access_records(caplog)
    assert record.status == 500  # type: ignore[attr-defined]
    assert record.request_id == "req-access-500"  # type: ignore[attr-defined]


async def test_probes_and_scrapes_log_at_debug_unless_they_fail(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await client.get("/health/live")
        await client.get("/metrics")
        await client.delete("/health/live")  # 405: worth a look
    levels = [(r.route, r.status, r.levelno) for r in access_records(caplog)]  # type: ignore[attr-defined]
    assert levels == [
        ("/health/live", 200, logging.DEBUG),
        ("/metrics", 200, logging.DEBUG),
        ("/health/live", 405, logging.INFO),
    ]


async def test_crafted_paths_cannot_forge_log_lines(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        await client.get("/evil%0A2026-01-01 INFO forged line")
    [record] = access_records(caplog)
    text = TextFormatter().format(record)
    assert "\n" not in text
    assert "%0A" in record.path  # type: ignore[attr-defined]


async def test_secrets_in_a_request_never_reach_the_log(
    client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        await client.post(
            "/api/v1/auth/register?token=query-secret-xyz",
            json={
                "email": "who@example.com",
                "password": "Sup3r-Secret-Passw0rd",
                "payment_token": "tok_visa",
            },
            headers={"Authorization": "Bearer bearer-secret-abc123"},
        )
        await client.get(
            "/metrics?access_token=query-secret-xyz",
            headers={"Authorization": "Bearer bearer-secret-abc123"},
        )
    assert len(access_records(caplog)) == 2
    for record in caplog.records:
        for formatted in (JsonFormatter().format(record), TextFormatter().format(record)):
            for secret in SECRETS:
                assert secret not in formatted, (secret, formatted)
