"""Async alembic environment: runs migrations over asyncpg, like the service."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ecommerce.core.config import load_settings
from ecommerce.core.embedded_postgres import resolve_database_url
from ecommerce.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    # An explicit URL (tests, `ecommerce migrate`) wins; then the settings; then embedded.
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    settings = load_settings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        # Several workers or machines may migrate at once; one waits for the other.
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
        context.run_migrations()


async def run_migrations_online(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    # Resolved before the loop starts: starting the embedded server is blocking work.
    asyncio.run(run_migrations_online(database_url()))
