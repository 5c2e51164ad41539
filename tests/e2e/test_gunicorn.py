"""The service under a real gunicorn with two uvicorn workers, across a socket."""

from __future__ import annotations

import httpx

from tests.support.processes import gunicorn


def test_gunicorn_serves_with_two_workers(database_url: str) -> None:
    with gunicorn(database_url, workers=2) as base, httpx.Client(base_url=base, timeout=5) as http:
        for _ in range(40):
            response = http.get("/health/ready", headers={"Connection": "close"})
            assert response.status_code == 200
            assert response.headers["x-request-id"]
        assert http.get("/docs").status_code == 200
        schema = http.get("/openapi.json").json()
        assert "/health/ready" in schema["paths"]
