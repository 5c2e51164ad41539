"""The first admin from settings at start-up, once under racing apps (the CLI and gunicorn
workers: tests/e2e/test_admin_bootstrap_cli.py)."""

from __future__ import annotations

import asyncio

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.main import create_app
from ecommerce.models import User
from ecommerce.services.user import AdminOutcome, ensure_admin
from tests.conftest import make_settings
from tests.support.auth import login
from tests.support.factories import create_user

EMAIL = "root@example.com"
PASSWORD = "first admin password"


async def users_named(engine: AsyncEngine, email: str) -> list[User]:
    async with AsyncSession(engine) as session:
        statement = select(User).where(func.lower(User.email) == email.lower())
        return list((await session.scalars(statement)).all())


def admin_settings(database_url: str) -> Settings:
    return make_settings(database_url, first_admin_email=EMAIL, first_admin_password=PASSWORD)


@pytest.mark.usefixtures("clean_database")  # the admin it creates
async def test_start_up_creates_the_first_admin(database_url: str) -> None:
    app = create_app(admin_settings(database_url))
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(manager.app), base_url="http://test") as client,
    ):
        headers = await login(client, EMAIL.upper(), PASSWORD)
        me = await client.get("/api/v1/users/me", headers=headers)
    assert me.json()["is_admin"] is True
    assert me.json()["email"] == EMAIL


async def test_several_apps_starting_at_once_create_one_admin(
    database_url: str, admin_engine: AsyncEngine
) -> None:
    # Four apps (as four workers would) run their lifespans at the same moment.
    apps = [create_app(admin_settings(database_url)) for _ in range(4)]
    managers = [LifespanManager(app) for app in apps]
    await asyncio.gather(*(m.__aenter__() for m in managers))
    await asyncio.gather(*(m.__aexit__(None, None, None) for m in managers))
    rows = await users_named(admin_engine, EMAIL)
    assert len(rows) == 1
    assert rows[0].is_admin


async def test_concurrent_ensure_admin_on_separate_sessions(
    settings: Settings, database_url: str, admin_engine: AsyncEngine
) -> None:
    database = Database.connect(settings, database_url)

    async def one() -> AdminOutcome:
        async with database.session() as session:
            outcome = await ensure_admin(session, EMAIL, PASSWORD)
            await session.commit()
            return outcome

    try:
        outcomes = await asyncio.gather(*(one() for _ in range(8)))
    finally:
        await database.dispose()
    assert outcomes.count(AdminOutcome.CREATED) == 1
    assert outcomes.count(AdminOutcome.UNCHANGED) == 7
    assert len(await users_named(admin_engine, EMAIL)) == 1


async def test_existing_customer_is_not_promoted_by_the_setting(
    client: AsyncClient, database_url: str, admin_engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """Someone registered the first admin's e-mail before the service started: start-up
    logs an error and leaves that account a customer, with its own password."""
    await create_user(admin_engine, "Root@Example.com", "customer's own password")
    app = create_app(admin_settings(database_url))
    with caplog.at_level("ERROR", logger="ecommerce"):
        async with LifespanManager(app):
            pass
    assert any(
        "NOT promoted" in r.getMessage() and "--promote-existing" in r.getMessage()
        for r in caplog.records
    )
    rows = await users_named(admin_engine, EMAIL)
    assert len(rows) == 1 and not rows[0].is_admin
    wrong = await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert wrong.status_code == 401


async def test_promote_existing_on_purpose_keeps_the_password(
    client: AsyncClient, settings: Settings, database_url: str, admin_engine: AsyncEngine
) -> None:
    await create_user(admin_engine, "Root@Example.com", "customer's own password")
    database = Database.connect(settings, database_url)
    try:
        async with database.session() as session:
            assert await ensure_admin(session, EMAIL, PASSWORD) is AdminOutcome.REFUSED
            outcome = await ensure_admin(session, EMAIL, PASSWORD, promote_existing=True)
            assert outcome is AdminOutcome.PROMOTED
            await session.commit()
        async with database.session() as session:
            assert await ensure_admin(session, EMAIL, PASSWORD) is AdminOutcome.UNCHANGED
    finally:
        await database.dispose()
    rows = await users_named(admin_engine, EMAIL)
    assert len(rows) == 1 and rows[0].is_admin
    assert rows[0].email == "Root@Example.com"
    headers = await login(client, EMAIL, "customer's own password")
    assert (await client.get("/api/v1/users/me", headers=headers)).json()["is_admin"] is True
    wrong = await client.post("/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
    assert wrong.status_code == 401
