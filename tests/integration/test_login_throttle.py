"""Sign-in throttling per account, and the limit counters behind it, on PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import TooManyRequests
from ecommerce.models import User
from ecommerce.services import limits
from tests.conftest import make_settings
from tests.support.auth import (
    CUSTOMER_EMAIL,
    DEFAULT_PASSWORD,
    OTHER_CUSTOMER_EMAIL,
)
from tests.support.gateway import FakeGateway

TOKEN = "/api/v1/auth/token"
MAX_FAILURES = 3
WINDOW = 900


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        login_max_failures=MAX_FAILURES,
        login_window_seconds=WINDOW,
        decline_limit=2,
    )


async def sign_in(client: AsyncClient, email: str, password: str) -> int:
    response = await client.post(TOKEN, data={"username": email, "password": password})
    return response.status_code


async def end_windows(engine: AsyncEngine) -> None:
    """Let every window pass (as if WINDOW seconds went by)."""
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE limit_counter SET expires_at = now() - interval '1 second'")
        )


async def test_failures_lock_the_account_even_for_the_right_password(
    client: AsyncClient, customer_user: User, other_customer_user: User, admin_engine: AsyncEngine
) -> None:
    codes = [await sign_in(client, CUSTOMER_EMAIL, "wrong password") for _ in range(MAX_FAILURES)]
    assert codes == [401] * MAX_FAILURES
    response = await client.post(
        TOKEN, data={"username": CUSTOMER_EMAIL.upper(), "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= WINDOW
    assert isinstance(response.json()["detail"], str)
    # Other accounts are not affected.
    assert await sign_in(client, OTHER_CUSTOMER_EMAIL, DEFAULT_PASSWORD) == 200
    # Once the window has passed, the right password works again.
    await end_windows(admin_engine)
    assert await sign_in(client, CUSTOMER_EMAIL, DEFAULT_PASSWORD) == 200


async def test_successful_sign_ins_do_not_count(client: AsyncClient, customer_user: User) -> None:
    for _ in range(MAX_FAILURES + 2):
        assert await sign_in(client, CUSTOMER_EMAIL, DEFAULT_PASSWORD) == 200
    assert await sign_in(client, CUSTOMER_EMAIL, "wrong password") == 401


async def test_unknown_emails_are_throttled_the_same_way(client: AsyncClient) -> None:
    codes = [await sign_in(client, "nobody@example.com", "guess") for _ in range(MAX_FAILURES + 1)]
    assert codes == [401] * MAX_FAILURES + [429]


async def test_parallel_guesses_never_pass_the_limit(
    client: AsyncClient, customer_user: User
) -> None:
    codes = await asyncio.gather(
        *(sign_in(client, CUSTOMER_EMAIL, f"guess {i}") for i in range(MAX_FAILURES + 7))
    )
    assert sorted(codes) == [401] * MAX_FAILURES + [429] * 7


async def test_the_limit_holds_across_app_instances(
    client: AsyncClient, customer_user: User, settings: Settings
) -> None:
    """Two instances (two apps, two pools) share the counter: it lives in PostgreSQL."""
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from ecommerce.main import create_app

    other = create_app(settings)
    async with LifespanManager(other) as manager:
        transport = ASGITransport(app=manager.app)
        async with AsyncClient(transport=transport, base_url="http://other") as second:
            for i in range(MAX_FAILURES):
                target = client if i % 2 else second
                assert await sign_in(target, CUSTOMER_EMAIL, "wrong") == 401
            assert await sign_in(second, CUSTOMER_EMAIL, DEFAULT_PASSWORD) == 429
            assert await sign_in(client, CUSTOMER_EMAIL, DEFAULT_PASSWORD) == 429


async def test_decline_counter_step(
    resources: Resources, client: AsyncClient, settings: Settings
) -> None:
    """The step checkout calls: ``check`` refuses once ``decline_limit`` declines are
    recorded for one user within the window; other users are not affected."""
    database: Database = resources.database
    limit = limits.decline_limit(settings)
    async with database.session() as session:
        await limits.check(session, limit, "1")
        for _ in range(settings.decline_limit):
            await limits.record(session, limit, "1")
        await session.commit()
    async with database.session() as session:
        with pytest.raises(TooManyRequests) as refused:
            await limits.check(session, limit, "1")
        assert refused.value.headers == {"Retry-After": str(refused.value.retry_after)}
        assert 1 <= refused.value.retry_after <= settings.decline_window_seconds
        await limits.check(session, limit, "2")


async def test_passed_windows_restart_and_are_purged(
    resources: Resources, client: AsyncClient, admin_engine: AsyncEngine, settings: Settings
) -> None:
    from ecommerce.repositories import limit as limit_repo

    database: Database = resources.database
    limit = limits.decline_limit(settings)
    async with database.session() as session:
        for _ in range(5):
            window = await limits.record(session, limit, "7")
        assert window.hits == 5
        await session.commit()
    await end_windows(admin_engine)
    async with database.session() as session:
        await limits.check(session, limit, "7")  # a passed window counts as nothing
        assert (await limits.record(session, limit, "7")).hits == 1
        await session.commit()
    await end_windows(admin_engine)
    async with database.session() as session:
        assert await limit_repo.purge_expired(session) == 1
        await session.commit()
    async with admin_engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM limit_counter"))).scalar() == 0


async def test_client_limits_are_off_by_default(client: AsyncClient) -> None:
    for i in range(12):
        response = await client.post(
            "/api/v1/auth/register", json={"email": f"u{i}@example.com", "password": "x" * 8}
        )
        assert response.status_code == 201


async def test_client_limit_when_configured(database_url: str, fake_gateway: FakeGateway) -> None:
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from ecommerce.main import create_app

    app = create_app(
        make_settings(
            database_url,
            payment_gateway_url=fake_gateway.url,
            payment_gateway_api_key=fake_gateway.api_key,
            client_rate_limit=2,
        )
    )
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app, client=("203.0.113.7", 5000))
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            codes = [
                (await http.post(TOKEN, data={"username": "a@example.com", "password": "p"}))
                for _ in range(3)
            ]
        assert [r.status_code for r in codes] == [401, 401, 429]
        assert int(codes[-1].headers["retry-after"]) >= 1
        other = ASGITransport(app=manager.app, client=("203.0.113.8", 5000))
        async with AsyncClient(transport=other, base_url="http://test") as http:
            response = await http.post(TOKEN, data={"username": "a@example.com", "password": "p"})
            assert response.status_code == 401


async def test_client_limit_covers_order_creation(
    database_url: str, fake_gateway: FakeGateway, customer_user: User
) -> None:
    from asgi_lifespan import LifespanManager
    from httpx import ASGITransport

    from ecommerce.main import create_app
    from tests.support.auth import bearer

    settings = make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        client_rate_limit=1,
    )
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app, client=("203.0.113.9", 5000))
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            body = {"items": [{"product_id": 1, "quantity": 1}], "payment_token": "tok_visa"}
            headers = bearer(customer_user, settings)
            first = await http.post("/api/v1/orders", json=body, headers=headers)
            assert first.status_code == 422  # counted, then refused: no such product
            second = await http.post("/api/v1/orders", json=body, headers=headers)
            assert second.status_code == 429
