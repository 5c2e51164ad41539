"""Test fixtures: a real PostgreSQL, the app over ASGI, a clean database per test.

The database is the embedded server under ./.data (database ``ecommerce_test``), or
``ECOMMERCE_TEST_DATABASE_URL`` when set. The schema is built by the migrations.
Each test runs against the real commit path (DESIGN rule 5) and the tables are
truncated after it, so concurrency tests see real transactions.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.core.embedded_postgres import create_database, server_url, start_server
from ecommerce.launcher import migrate
from ecommerce.main import create_app
from ecommerce.models import Base
from tests.support.auth import *  # noqa: F403 - the user/header fixtures
from tests.support.gateway import FakeGateway, fake_gateway  # noqa: F401 - fixture
from tests.support.lifespan import Running, running

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE = "ecommerce_test"
TEST_JWT_SECRET = "test-secret-" + "x" * 40


async def _recreate_database(socket_dir: str, port: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(host=socket_dir, port=port, user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()
    await create_database(socket_dir, port, TEST_DATABASE)


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("ECOMMERCE_TEST_DATABASE_URL")
    if not url:
        socket_dir, port = start_server(ROOT / ".data")
        asyncio.run(_recreate_database(socket_dir, port))
        url = server_url(socket_dir, port, TEST_DATABASE)
    migrate(url)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "log_level": "INFO",
        # Hashing slots of this worktree's tests only (the default is host-wide, shared
        # with every other suite running on the machine).
        "hash_slot_dir": ROOT / ".data" / "hash-slots",
        # Bursts of sign-ins in tests queue on the shared CPU; they must not time out.
        "hash_wait_seconds": 30.0,
        # Concurrency tests place dozens of orders at once for one customer; the cap on
        # pending orders per user has tests of its own.
        "max_pending_orders": 1000,
        # The job consumer is opt-in (worker_in_process=True), like the other fixtures:
        # an app test that sends no webhook or e-mail need not start one.
        "worker_in_process": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:  # noqa: F811
    # Every app test talks to a live fake gateway; a short timeout keeps hang tests quick.
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        payment_gateway_timeout=1.0,
    )


@pytest.fixture(scope="session")
async def admin_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine of the tests' own, for set-up, assertions and clean-up."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


@pytest.fixture(autouse=True)
async def clean_database(admin_engine: AsyncEngine) -> AsyncIterator[None]:
    yield
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with admin_engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def running_app(app: FastAPI) -> AsyncIterator[Running]:
    async with running(app) as started:
        yield started


@pytest.fixture
def resources(running_app: Running) -> Resources:
    """What the app's lifespan built (database, gateway, reconciler, ...)."""
    return running_app.resources


@pytest.fixture
async def client(running_app: Running) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=running_app.asgi, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def project_root() -> Iterator[Path]:
    yield ROOT
