"""Health, request ids, JSON errors, commit-before-response and shutdown."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.api.dependencies import CallerSessionDep, OptionalUser, SessionDep
from ecommerce.core.config import Settings
from ecommerce.core.errors import NotFound
from ecommerce.main import create_app
from ecommerce.models import User
from tests.conftest import make_settings
from tests.support.lifespan import running


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_when_database_answers(client: AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_is_503_when_database_is_down() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    settings = make_settings(
        "postgresql+asyncpg://postgres@127.0.0.1:1/nothing", db_connect_timeout=2
    )
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(manager.app), base_url="http://test") as http,
    ):
        live = await http.get("/health/live")
        ready = await http.get("/health/ready")
    assert live.status_code == 200
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert "detail" in ready.json()


async def test_request_id_is_echoed(client: AsyncClient) -> None:
    response = await client.get("/health/live", headers={"X-Request-ID": "abc-123 ok"})
    assert response.headers["x-request-id"] == "abc-123 ok"


async def test_request_id_is_minted_when_missing_or_invalid(client: AsyncClient) -> None:
    first = await client.get("/health/live")
    second = await client.get("/health/live", headers={"X-Request-ID": "x" * 129})
    third = await client.get("/health/live", headers={"X-Request-ID": "bad\tvalue"})
    ids = {r.headers["x-request-id"] for r in (first, second, third)}
    assert len(ids) == 3
    assert all(len(i) == 32 for i in ids)


async def test_unknown_route_is_json_404(client: AsyncClient) -> None:
    response = await client.get("/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "Not Found"}
    assert response.headers["x-request-id"]


async def test_wrong_method_is_json_405(client: AsyncClient) -> None:
    response = await client.delete("/health/live")
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


@pytest.fixture
def failing_app(app: FastAPI) -> FastAPI:
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/test/explode", explode)
    return app


async def test_unhandled_error_is_logged_and_answers_json_500(
    failing_app: FastAPI, client: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await client.get("/test/explode", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    assert "hunter2" not in response.text
    assert response.headers["x-request-id"] == "req-500"
    records = [r for r in caplog.records if r.name == "ecommerce.errors"]
    assert records and records[0].exc_info is not None
    assert records[0].request_id == "req-500"  # type: ignore[attr-defined]


@pytest.fixture
def writing_app(app: FastAPI) -> FastAPI:
    async def add_user(session: SessionDep, email: str) -> dict[str, str]:
        # Not flushed here: the INSERT runs at commit, after the endpoint returned.
        session.add(User(email=email, hashed_password="x"))
        return {"email": email}

    app.add_api_route("/test/users", add_user, methods=["POST"], status_code=201)
    return app


async def test_commit_happens_before_the_response(
    writing_app: FastAPI, client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    response = await client.post("/test/users", params={"email": "a@example.com"})
    assert response.status_code == 201
    # The row is there the moment the client has its answer.
    async with admin_engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(User))
    assert count == 1


async def test_failed_commit_answers_500_not_201(
    writing_app: FastAPI, client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    assert (await client.post("/test/users", params={"email": "b@example.com"})).status_code == 201
    # Same e-mail again: the unique index fails the commit, after the endpoint returned.
    response = await client.post("/test/users", params={"email": "B@example.com"})
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error"}
    async with admin_engine.connect() as conn:
        count = await conn.scalar(select(func.count()).select_from(User))
    assert count == 1


async def test_engine_is_disposed_on_shutdown(database_url: str, admin_engine: AsyncEngine) -> None:
    app = create_app(make_settings(database_url))
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE application_name = 'ecommerce' AND datname = current_database()"
    )
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(manager.app), base_url="http://test") as http,
    ):
        assert (await http.get("/health/ready")).status_code == 200
        async with admin_engine.connect() as conn:
            assert (await conn.scalar(query)) >= 1  # the pool keeps its connection
    async with admin_engine.connect() as conn:
        for _ in range(50):  # the server notices a closed socket within moments
            if await conn.scalar(query) == 0:
                break
            await conn.execute(text("SELECT pg_sleep(0.05)"))
        assert await conn.scalar(query) == 0


async def test_a_statement_past_its_timeout_answers_503(database_url: str) -> None:
    app = create_app(make_settings(database_url, db_statement_timeout=0.2))

    async def slow(session: SessionDep) -> None:
        await session.execute(text("SELECT pg_sleep(2)"))

    app.add_api_route("/test/slow", slow)
    async with (
        LifespanManager(app) as manager,
        AsyncClient(
            transport=ASGITransport(manager.app, raise_app_exceptions=False),
            base_url="http://test",
        ) as http,
    ):
        response = await http.get("/test/slow")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("The database took too long")


async def test_docs_are_served_without_a_cdn(client: AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr.net" not in page.text
    assert "/static-offline-docs/swagger-ui-bundle.js" in page.text
    bundle = await client.get("/static-offline-docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert (await client.get("/redoc")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/static-offline-docs" not in str(schema["paths"])


async def test_a_failing_route_releases_its_session_before_answering(
    settings: Settings, admin_engine: AsyncEngine, customer_user: Any
) -> None:
    # No background work that could hold a pooled connection while the test counts them.
    app = create_app(settings.model_copy(update={"reconciler_enabled": False}))

    async def lock_then_fail(session: CallerSessionDep, _: OptionalUser) -> None:
        # Takes a row lock, then fails the way routes do (a domain error, 404).
        await session.execute(text('SELECT id FROM "user" FOR UPDATE'))
        raise NotFound("nothing here")

    app.add_api_route("/test/lock-then-fail", lock_then_fail, methods=["POST"])
    async with running(app) as started:
        transport = ASGITransport(app=started.asgi)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            response = await http.post("/test/lock-then-fail")
        assert response.status_code == 404
        # By the time the client has its answer, the session is rolled back and its
        # connection is back in the pool, not left for a finalizer to close later.
        assert started.resources.database.pool_status()["checked_out"] == 0
    async with admin_engine.connect() as conn:
        locked = await conn.execute(text('SELECT id FROM "user" FOR UPDATE NOWAIT'))
        assert locked.all()
