"""What runs once, before any worker forks: settings check, database, migrations.

Used by ``ecommerce serve`` and by gunicorn's ``on_starting`` hook, so plain
``gunicorn -c gunicorn.conf.py`` behaves the same.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

from ecommerce.core.config import ENV_PREFIX, ConfigError, Settings, load_settings
from ecommerce.core.embedded_postgres import resolve_database_url

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"  # the name prometheus_client reads


def _project_root() -> Path:
    """Where ``alembic.ini`` and ``migrations/`` live.

    Beside the package in a checkout or an editable install; in the Docker image the
    package is installed as a wheel and they sit in the working directory (/app).
    """
    beside_package = Path(__file__).resolve().parent.parent
    if (beside_package / "alembic.ini").is_file():
        return beside_package
    return Path.cwd()


PROJECT_ROOT = _project_root()


def settings_or_exit() -> Settings:
    """Load settings; a wrong value stops start-up with one clear line."""
    try:
        return load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def prepare_environment() -> Settings:
    """Export, for every worker, what must be the same in all of them.

    - the database URL (starting the embedded server once, here, when none is set);
    - in development, one random JWT secret per start (a secret per worker would make
      a token from one worker invalid in the next).
    """
    settings = settings_or_exit()
    if settings.database_url is None:
        os.environ[ENV_PREFIX + "DATABASE_URL"] = resolve_database_url(None, settings.data_dir)
    if not os.environ.get(ENV_PREFIX + "JWT_SECRET") and not settings.is_production:
        os.environ[ENV_PREFIX + "JWT_SECRET"] = secrets.token_urlsafe(48)
    return settings_or_exit()


def migrate(database_url: str | None = None) -> None:
    """``alembic upgrade head`` against the configured (or given) database. Blocking."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logging"] = False  # the caller owns logging
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    url = database_url or os.environ.get(ENV_PREFIX + "DATABASE_URL")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")


def prepare_metrics_directory() -> Path | None:
    """Give the workers an empty prometheus multiprocess directory; call before they fork.

    ``PROMETHEUS_MULTIPROC_DIR`` when set (the operator's choice, e.g. a tmpfs): created
    if missing and emptied of the previous run's files, which would otherwise add old
    counts to new ones. Unset: a fresh private temporary directory, exported for the
    workers and returned so the caller removes it on exit (two servers started from the
    same checkout never share one).
    """
    configured = os.environ.get(MULTIPROC_DIR_ENV)
    if configured:
        directory = Path(configured)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return None
    directory = Path(tempfile.mkdtemp(prefix="ecommerce-metrics-"))
    os.environ[MULTIPROC_DIR_ENV] = str(directory)
    return directory


async def _max_connections(database_url: str, seconds: float) -> int:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(
        database_url, poolclass=NullPool, connect_args={"timeout": seconds}
    )
    try:
        async with asyncio.timeout(seconds), engine.connect() as conn:
            return int(await conn.scalar(text("SHOW max_connections")))
    finally:
        await engine.dispose()


def database_max_connections(database_url: str, timeout: float = 10.0) -> int:
    """PostgreSQL's ``max_connections``. Blocking: for the launcher, before workers fork."""
    return asyncio.run(_max_connections(database_url, timeout))


def dedicated_connections(settings: Settings) -> dict[str, int]:
    """The connections a web worker holds outside its pool, by what holds them."""
    held = {}
    if settings.catalog_cache_ttl > 0:
        held["catalog LISTEN"] = 1  # main.catalog_listener
    if settings.worker_in_process:
        held["job consumer"] = 1  # services/consumer.py
    return held


def connections_per_worker(settings: Settings) -> int:
    """What one web worker may open: its full pool and its dedicated connections."""
    pool = settings.db_pool_size + settings.db_max_overflow
    return pool + sum(dedicated_connections(settings).values())


def pool_capacity_problem(settings: Settings, workers: int, max_connections: int) -> str | None:
    """Why ``workers`` workers, pools full, cannot all connect within ``max_connections``,
    or None."""
    needed = workers * connections_per_worker(settings)
    if needed <= max_connections:
        return None
    extra = "".join(f" + {n} {name}" for name, n in dedicated_connections(settings).items())
    return (
        f"database pools may need {needed} connections ({workers} workers x "
        f"(ECOMMERCE_DB_POOL_SIZE {settings.db_pool_size} + ECOMMERCE_DB_MAX_OVERFLOW "
        f"{settings.db_max_overflow}{extra})) but PostgreSQL max_connections is "
        f"{max_connections}; lower the workers or the pool, or raise max_connections"
    )


async def _database_answers(database_url: str, seconds: float) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(
        database_url, poolclass=NullPool, connect_args={"timeout": seconds}
    )
    try:
        async with asyncio.timeout(seconds), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    finally:
        await engine.dispose()


def wait_for_database(database_url: str, seconds: float, poll: float = 0.5) -> None:
    """Block until the database answers, at most ``seconds``; else exit with one line.

    For first start (``ecommerce serve`` migrates before it forks workers): a database
    that comes up a little after the service (compose, a reboot) is waited for, one that
    does not come is reported by name instead of as a stack trace.
    """
    deadline = time.monotonic() + seconds
    announced = False
    while True:
        left = deadline - time.monotonic()
        try:
            asyncio.run(_database_answers(database_url, max(min(left, 5.0), 0.5)))
            if announced:
                print("database answers", file=sys.stderr)
            return
        except Exception as error:
            if time.monotonic() >= deadline:
                raise SystemExit(
                    f"the database did not answer within {seconds:g}s "
                    f"(ECOMMERCE_DB_WAIT_SECONDS): {type(error).__name__}: {error}"
                ) from None
            if not announced:
                print(
                    f"waiting up to {seconds:g}s for the database ({type(error).__name__})",
                    file=sys.stderr,
                )
                announced = True
        time.sleep(poll)
