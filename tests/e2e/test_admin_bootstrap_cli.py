"""The first admin from the CLI, and from gunicorn workers starting together."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.models import User
from tests.conftest import ROOT
from tests.support.auth import login
from tests.support.processes import gunicorn

pytestmark = pytest.mark.usefixtures("clean_database")

EMAIL = "root@example.com"
PASSWORD = "first admin password"


async def users_named(engine: AsyncEngine, email: str) -> list[User]:
    async with AsyncSession(engine) as session:
        statement = select(User).where(func.lower(User.email) == email.lower())
        return list((await session.scalars(statement)).all())


def run_cli(database_url: str, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce.cli", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_cli_create_admin(database_url: str, client: AsyncClient) -> None:
    out = run_cli(database_url, "create-admin", "--email", EMAIL, "--password", PASSWORD)
    assert f"admin {EMAIL}: created" in out
    # Again, with the password from the environment and a reset: still one admin.
    out = run_cli(
        database_url,
        "create-admin",
        "--email",
        EMAIL,
        "--reset-password",
        env={"ECOMMERCE_FIRST_ADMIN_PASSWORD": "a brand new password"},
    )
    assert f"admin {EMAIL}: password_reset" in out
    headers = await login(client, EMAIL, "a brand new password")
    assert (await client.get("/api/v1/users/me", headers=headers)).json()["is_admin"] is True


def test_cli_create_admin_refuses_bad_input(database_url: str) -> None:
    for args in (["--email", "not-an-email", "--password", PASSWORD],
                 ["--email", EMAIL, "--password", "short"]):  # fmt: skip
        result = subprocess.run(
            [sys.executable, "-m", "ecommerce.cli", "create-admin", *args],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode != 0
        assert "create-admin:" in result.stderr


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
