"""Test fixtures and the three tiers.

Tiers come from the folder a test lives in (``tests/unit``, ``tests/integration``,
``tests/e2e``) and are applied as markers here, so ``pytest -m "not e2e"`` is the fast loop.

Every fixture is opt-in: a unit test that asks for none of them never starts PostgreSQL
or the fake gateway.

- ``database_url``: the embedded server under ./.data (database ``ecommerce_test``), or
  ``ECOMMERCE_TEST_DATABASE_URL`` when set; the schema is built by the migrations. Started
  on first use, once per session.
- ``admin_engine``, ``client``, ``app``, ``database`` and ``clean_database``: the real
  commit path (DESIGN rule 5), so concurrency tests see real transactions; every table is
  emptied (and its id sequence restarted) after a test that used any of them.
- ``db_session``: for tests of repositories and services that need no real commit: one
  connection, an outer transaction rolled back after the test, and the session's own
  commits turned into savepoints. Nothing to clean up.
- ``app``, ``running_app`` (its lifespan, per test) and ``resources`` (what the lifespan
  built); one app object per distinct settings, unless a test changed it.
- ``fake_gateway``: one real fake gateway server for the session, reset before each test
  that asks for it (``settings`` does, since the app talks to it).
- Passwords hash with argon2id at its lowest cost (``production_password_hashing`` for
  the real cost).
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
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from ecommerce.api.resources import Resources
from ecommerce.core import security
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.models import Base
from tests.support.auth import *  # noqa: F403 - the user/header fixtures
from tests.support.gateway import FakeGateway, serving_fake_gateway
from tests.support.lifespan import Running, running

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
TIERS = ("unit", "integration", "e2e")
TEST_DATABASE = "ecommerce_test"
TEST_JWT_SECRET = "test-secret-" + "x" * 40
# Argon2 at the production cost is a quarter of a second of CPU per hash, and the sign-up
# and sign-in tests make about ninety of them: in tests the same functions hash with the
# same algorithm (argon2id) at its lowest cost. The test about hashing under load asks
# for ``production_password_hashing``.
PRODUCTION_HASHING = security._password_hash
CHEAP_HASHING = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with the tier of the folder it is in."""
    for item in items:
        parts = item.path.resolve().relative_to(TESTS).parts
        if len(parts) > 1 and parts[0] in TIERS:
            item.add_marker(getattr(pytest.mark, parts[0]))


async def _recreate_database(socket_dir: str, port: int) -> None:
    import asyncpg

    from ecommerce.core.embedded_postgres import create_database

    conn = await asyncpg.connect(host=socket_dir, port=port, user="postgres", database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{TEST_DATABASE}" WITH (FORCE)')
    finally:
        await conn.close()
    await create_database(socket_dir, port, TEST_DATABASE)
    conn = await asyncpg.connect(host=socket_dir, port=port, user="postgres", database="postgres")
    try:
        # A scratch database: commits need not wait for the disk.
        await conn.execute(f'ALTER DATABASE "{TEST_DATABASE}" SET synchronous_commit = off')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url() -> str:
    from ecommerce.core.embedded_postgres import server_url, start_server
    from ecommerce.launcher import migrate

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


@pytest.fixture(scope="session")
def cheap_password_hashing() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_password_hash", CHEAP_HASHING)
        yield


@pytest.fixture
def production_password_hashing(
    cheap_password_hashing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's own argon2 cost, for this test (undone after it)."""
    monkeypatch.setattr(security, "_password_hash", PRODUCTION_HASHING)


@pytest.fixture(scope="session")
async def gateway_server() -> AsyncIterator[FakeGateway]:
    """One fake gateway for the whole session: starting one per test cost more than the
    tests that use it. ``fake_gateway`` resets it, so no test sees another's ledger."""
    async with serving_fake_gateway() as gateway:
        yield gateway


@pytest.fixture
async def fake_gateway(gateway_server: FakeGateway) -> FakeGateway:
    # Reset also releases requests a previous test left hanging.
    await gateway_server.reset()
    return gateway_server


@pytest.fixture
def settings(
    database_url: str, fake_gateway: FakeGateway, cheap_password_hashing: None
) -> Settings:
    # App tests talk to the live fake gateway; a short timeout keeps hang tests quick.
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        payment_gateway_timeout=1.0,
    )


@pytest.fixture(scope="session")
async def session_engine(
    database_url: str, cheap_password_hashing: None
) -> AsyncIterator[AsyncEngine]:
    """The tests' own engine. Pooled: a new connection per helper call cost more than most
    tests. Its connections carry no ``application_name``, so the tests that count the
    app's connections do not see them."""
    engine = create_async_engine(database_url, pool_size=5, max_overflow=10)
    yield engine
    await engine.dispose()


_clean_sql: list[str] = []


async def _clean_statements(engine: AsyncEngine) -> str:
    """DELETE every table (children first) and restart every sequence, as one script.

    What ``TRUNCATE ... RESTART IDENTITY`` did, at a fifth of the cost on tables this
    small: TRUNCATE makes new files for every table and index each time.
    """
    if not _clean_sql:
        async with engine.connect() as conn:
            sequences = (
                await conn.execute(
                    text(
                        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                        "FROM pg_sequences"
                    )
                )
            ).scalars()
            tables = reversed(Base.metadata.sorted_tables)
            deletes = [f'DELETE FROM "{t.name}"' for t in tables]  # noqa: S608 - our names
            restarts = [f"SELECT setval('{name}', 1, false)" for name in sequences]
        _clean_sql.append("BEGIN; " + "; ".join(deletes + restarts) + "; COMMIT;")
    return _clean_sql[0]


@pytest.fixture
async def clean_database(session_engine: AsyncEngine) -> AsyncIterator[None]:
    """Empty every table after the test (for tests that commit for real)."""
    yield
    script = await _clean_statements(session_engine)
    async with session_engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(script)  # the simple protocol: the whole script, one trip


@pytest.fixture
def admin_engine(session_engine: AsyncEngine, clean_database: None) -> AsyncEngine:
    """An engine of the tests' own, for set-up, assertions and clean-up."""
    return session_engine


@pytest.fixture
async def db_session(session_engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work is rolled back after the test (no real commit, no clean-up).

    Do not mix with fixtures that commit (``admin_engine``, ``client``, ``customer_user``):
    their rows outlive this transaction, and the clean-up after them would wait on it.
    """
    async with session_engine.connect() as conn:
        outer = await conn.begin()
        session = AsyncSession(
            bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield session
        finally:
            await session.close()
            await outer.rollback()


@pytest.fixture
async def database(settings: Settings, clean_database: None) -> AsyncIterator[Database]:
    """A ``Database`` of the app's own kind, outside any app."""
    assert settings.database_url is not None
    database = Database.connect(settings, settings.database_url)
    yield database
    await database.dispose()


def _shape(app: FastAPI) -> tuple[int, ...]:
    """What a test may change on an app: its routes, overrides, handlers, middleware."""
    return (
        len(app.routes),
        len(app.dependency_overrides),
        len(app.exception_handlers),
        len(app.user_middleware),
    )


# Apps already built, by their settings, with the shape they were built with.
_apps: dict[str, tuple[FastAPI, tuple[int, ...]]] = {}


@pytest.fixture
def app(settings: Settings, clean_database: None) -> FastAPI:
    """The app for these settings (its lifespan runs per test: ``running_app``).

    One app object serves every test with the same settings: FastAPI prepares each route
    on its first request, which cost more than most tests. Nothing lives on the app
    between tests (the lifespan builds and closes every resource). A test that changes the
    app (adds a route, overrides a dependency) leaves it out: the next test gets a new one.
    """
    from ecommerce.main import create_app

    key = settings.model_dump_json()
    cached = _apps.get(key)
    if cached is not None and _shape(cached[0]) == cached[1]:
        return cached[0]
    app = create_app(settings)
    _apps[key] = (app, _shape(app))
    return app


@pytest.fixture
async def running_app(app: FastAPI) -> AsyncIterator[Running]:
    async with running(app) as started:
        yield started


@pytest.fixture
def resources(running_app: Running) -> Resources:
    """What the app's lifespan built (database, gateway, reconciler, ...)."""
    return running_app.resources


@pytest.fixture
async def client(running_app: Running, clean_database: None) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=running_app.asgi, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        yield http
