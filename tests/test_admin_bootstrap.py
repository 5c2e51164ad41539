"""The first admin: from settings at start-up (once, under racing workers) and from the CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
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
from tests.conftest import ROOT, make_settings
from tests.support.auth import create_user, login
from tests.support.processes import gunicorn

EMAIL = "root@example.com"
PASSWORD = "first admin password"


async def users_named(engine: AsyncEngine, email: str) -> list[User]:
    async with AsyncSession(engine) as session:
        statement = select(User).where(func.lower(User.email) == email.lower())
        return list((await session.scalars(statement)).all())


def admin_settings(database_url: str) -> Settings:
    return make_settings(database_url, first_admin_email=EMAIL, first_admin_password=PASSWORD)


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


def run_cli(
    database_url: str,
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    ok: bool = True,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce.cli", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url, **(env or {})},
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


async def test_cli_create_admin(database_url: str, client: AsyncClient) -> None:
    out = run_cli(
        database_url, "create-admin", "--email", EMAIL, "--password-stdin", stdin=PASSWORD + "\n"
    ).stdout
    assert f"admin {EMAIL}: created" in out
    old_token = await login(client, EMAIL, PASSWORD)
    # Again, with the password from the environment and a reset: still one admin.
    out = run_cli(
        database_url,
        "create-admin",
        "--email",
        EMAIL,
        "--reset-password",
        env={"ECOMMERCE_FIRST_ADMIN_PASSWORD": "a brand new password"},
    ).stdout
    assert f"admin {EMAIL}: password_reset" in out
    # The reset revoked the tokens issued before it.
    assert (await client.get("/api/v1/users/me", headers=old_token)).status_code == 401
    headers = await login(client, EMAIL, "a brand new password")
    assert (await client.get("/api/v1/users/me", headers=headers)).json()["is_admin"] is True


async def test_cli_promotes_a_customer_only_on_purpose(
    database_url: str, admin_engine: AsyncEngine, client: AsyncClient
) -> None:
    await create_user(admin_engine, EMAIL, "customer's own password")
    env = {"ECOMMERCE_FIRST_ADMIN_PASSWORD": PASSWORD}
    refused = run_cli(database_url, "create-admin", "--email", EMAIL, env=env, ok=False)
    assert refused.returncode != 0
    assert "--promote-existing" in refused.stderr
    assert not (await users_named(admin_engine, EMAIL))[0].is_admin
    out = run_cli(database_url, "create-admin", "--email", EMAIL, "--promote-existing", env=env)
    assert f"admin {EMAIL}: promoted" in out.stdout
    assert (await users_named(admin_engine, EMAIL))[0].is_admin


def test_cli_create_admin_refuses_bad_input(database_url: str) -> None:
    cases = [
        (["--email", "not-an-email", "--password-stdin"], PASSWORD + "\n"),
        (["--email", EMAIL, "--password-stdin"], "short\n"),
        (["--email", EMAIL], ""),  # no password anywhere, stdin not a terminal
    ]
    for args, stdin in cases:
        result = run_cli(database_url, "create-admin", *args, stdin=stdin, ok=False)
        assert result.returncode != 0
        assert "create-admin:" in result.stderr
    # A password on the command line is not an option at all.
    result = run_cli(
        database_url, "create-admin", "--email", EMAIL, "--password", PASSWORD, ok=False
    )
    assert result.returncode == 2


async def test_gunicorn_workers_starting_together_create_one_admin(
    database_url: str, admin_engine: AsyncEngine
) -> None:
    env = {"ECOMMERCE_FIRST_ADMIN_EMAIL": EMAIL, "ECOMMERCE_FIRST_ADMIN_PASSWORD": PASSWORD}
    with gunicorn(database_url, workers=2, env=env) as base:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            token = await http.post(
                "/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD}
            )
            assert token.status_code == 200
    rows = await users_named(admin_engine, EMAIL)
    assert len(rows) == 1 and rows[0].is_admin
