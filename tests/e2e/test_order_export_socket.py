"""The export's connection is given back when a real TCP client stalls, then hangs up."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.factories import create_product, seed_history
from tests.support.server import serve_in_thread

URL = "/api/v1/admin/orders/export"
TRICKY_NAME = 'Mug, "large"\nblue'  # as in the integration tests: quoted in CSV


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Orders written straight into the tables: no reconciler settling them meanwhile.
    return settings.model_copy(update={"reconciler_enabled": False})


@pytest.fixture
async def many_orders(admin_engine: AsyncEngine, settings: Settings) -> None:
    """Enough orders (a few MB of NDJSON) that the export cannot end on its own while the
    client does not read."""
    await create_product(admin_engine, "MUG-02", TRICKY_NAME, 1200)
    await create_product(admin_engine, "PEN-01", "Pen", 250)
    await seed_history(settings, 4000)


async def _open_transactions(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        count = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ecommerce' "
                "AND datname = current_database() AND state <> 'idle'"
            )
        )
    return int(count or 0)


async def _wait_for(condition: Any, timeout: float = 10) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return bool(condition())


async def test_client_gone_mid_stream_releases_the_connection(
    many_orders: None, app: FastAPI, admin_engine: AsyncEngine, admin_headers: dict[str, str]
) -> None:
    """A real TCP client reads the start of the export, stalls, then hangs up."""
    with serve_in_thread(app, send_buffer=8192) as served:
        port = int(served.url.rsplit(":", 1)[1])
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.connect(("127.0.0.1", port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock, limit=16384)
        auth = "".join(f"{k}: {v}\r\n" for k, v in admin_headers.items())
        writer.write(f"GET {URL}?format=ndjson HTTP/1.1\r\nHost: test\r\n{auth}\r\n".encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 200")
        body = await asyncio.wait_for(reader.readexactly(2000), 10)
        assert b'"items":' in body

        # The client reads no more: the server blocks on a full socket, mid-stream,
        # still holding the export's connection and its transaction.
        database = served.resources.database
        assert await _wait_for(lambda: database.pool_status()["checked_out"] == 1)
        await asyncio.sleep(0.3)
        assert database.pool_status()["checked_out"] == 1
        assert await _open_transactions(admin_engine) == 1

        writer.close()  # hang up without reading the rest
        assert await _wait_for(lambda: database.pool_status()["checked_out"] == 0, timeout=5)
        assert await _open_transactions(admin_engine) == 0
        # The server still serves: a new, complete export works.
        assert (await asyncio.to_thread(_full_export_size, served.url, admin_headers)) > 500_000


def _full_export_size(base: str, headers: dict[str, str]) -> int:
    import httpx

    with httpx.Client(base_url=base, timeout=30) as http:
        response = http.get(URL, params={"format": "csv"}, headers=headers)
        assert response.status_code == 200
        return len(response.content)
