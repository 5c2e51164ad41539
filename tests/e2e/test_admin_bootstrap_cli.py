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
from tests.support.factories import create_user
from tests.support.processes import gunicorn

pytestmark = pytest.mark.usefixtures("clean_database")

EMAIL = "root@example.com"
PASSWORD = "first admin password"


async def users_named(engine: AsyncEngine, email: str) -> list[User]:
    async with AsyncSession(engine) as session:
        statement = select(User).where(func.lower(User.email) == email.lower())
        return list((await session.scalars(statement)).all())


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
