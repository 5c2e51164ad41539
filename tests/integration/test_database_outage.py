"""The service survives its database: it starts without it, answers 503 while it is
away (JSON detail), and is back by itself when it returns, first admin included."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.main import create_app
from ecommerce.models import User
from tests.conftest import make_settings
from tests.support.db_switch import DatabaseSwitch, database_switch
from tests.support.gateway import FakeGateway

ADMIN = "boot.admin@example.com"


@pytest.fixture
async def switch(database_url: str) -> AsyncIterator[DatabaseSwitch]:
    with database_switch(database_url, up=False) as switch:
        yield switch


async def admins(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session:
        statement = select(func.count()).where(func.lower(User.email) == ADMIN, User.is_admin)
        return int((await session.execute(statement)).scalar_one())


async def wait_ready(http: AsyncClient) -> float:
    """Seconds until /health/ready answers 200 (printed, never asserted on)."""
    started = time.perf_counter()
    for _ in range(600):
        if (await http.get("/health/ready")).status_code == 200:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    raise AssertionError("never ready again")


async def test_starts_without_the_database_and_recovers_when_it_returns(
    switch: DatabaseSwitch, fake_gateway: FakeGateway, admin_engine: AsyncEngine
) -> None:
    settings = make_settings(
        switch.url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        first_admin_email=ADMIN,
        first_admin_password="boot admin password",
        db_connect_timeout=1.0,
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30) as manager:  # starts: no database
        transport = ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/health/live")).status_code == 200
            ready = await http.get("/health/ready")
            assert ready.status_code == 503
            assert ready.json()["detail"]
            for method, path in (("GET", "/api/v1/products"), ("GET", "/api/v1/products/1")):
                response = await http.request(method, path)
                assert response.status_code == 503, response.text
                assert isinstance(response.json()["detail"], str)
            token = await http.post(
                "/api/v1/auth/token", data={"username": ADMIN, "password": "whatever"}
            )
            assert token.status_code == 503
            assert await admins(admin_engine) == 0

            switch.restore()
            print(f"ready {await wait_ready(http):.2f}s after the database returned")
            assert (await http.get("/api/v1/products")).status_code == 200
            for _ in range(200):  # the background bootstrap retries every few seconds
                if await admins(admin_engine) == 1:
                    break
                await asyncio.sleep(0.05)
            assert await admins(admin_engine) == 1

            # Away again while serving: pooled connections die with it.
            switch.cut()
            assert (await http.get("/api/v1/products")).status_code == 503
            assert (await http.get("/health/ready")).status_code == 503
            switch.restore()
            print(f"ready {await wait_ready(http):.2f}s after the second return")
            assert (await http.get("/api/v1/products")).status_code == 200


def test_serve_waits_a_bounded_time_for_the_database(database_url: str) -> None:
    import threading

    from ecommerce.launcher import wait_for_database

    with database_switch(database_url, up=False) as switch:
        with pytest.raises(SystemExit, match=r"did not answer within 1s \(ECOMMERCE_DB_WAIT"):
            wait_for_database(switch.url, 1.0, poll=0.1)
        # The database comes up while we wait: start-up goes on.
        timer = threading.Timer(0.5, switch.restore)
        timer.start()
        try:
            wait_for_database(switch.url, 30.0, poll=0.1)
        finally:
            timer.cancel()
