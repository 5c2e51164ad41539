"""GET /api/v1/admin/orders/export: content of both formats, snapshot, permissions and
the connection given back when a client goes away mid-stream (at the ASGI level here; a
real TCP client that stalls: tests/e2e/test_order_export_socket.py)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.models import OrderStatus, User
from ecommerce.services.order_export import CSV_COLUMNS, export_orders
from tests.support.factories import CatalogProduct, add_order, create_product, seed_history
from tests.support.lifespan import running

URL = "/api/v1/admin/orders/export"
TRICKY_NAME = 'Mug, "large"\nblue'  # a comma, quotes and a newline


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests write old orders straight into the tables, some of them pending; the
    # reconciler would (rightly) settle those while the test reads them.
    return settings.model_copy(update={"reconciler_enabled": False})


@pytest.fixture
async def orders(admin_engine: AsyncEngine, customer_user: User) -> dict[str, Any]:
    mug = await create_product(admin_engine, "MUG-02", TRICKY_NAME, 1200)
    pen = await create_product(admin_engine, "PEN-01", "Pen", 250)
    paid_at = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    pending_at = datetime(2025, 3, 2, 10, 0, 0, 500, tzinfo=UTC)
    lines: list[tuple[CatalogProduct, int]] = [(mug, 2), (pen, 3)]
    paid = await add_order(
        admin_engine,
        user_id=customer_user.id,
        status=OrderStatus.PAID,
        created_at=paid_at,
        lines=lines,
    )
    pending = await add_order(
        admin_engine,
        user_id=customer_user.id,
        status=OrderStatus.PENDING,
        created_at=pending_at,
        lines=[(pen, 1)],
    )
    return {"mug": mug, "pen": pen, "paid": paid, "pending": pending, "user": customer_user}


# Orders written straight to the tables: no e-mail, address, shipping, discount or tax.
NO_EXTRAS = {
    "discount_total": 0,
    "shipping_total": 0,
    "tax_total": 0,
    "email": None,
    "shipping_address": None,
    "billing_address": None,
    "shipping": None,
    "discount_code": None,
}


def expected_ndjson(orders: dict[str, Any]) -> list[dict[str, Any]]:
    mug, pen, user_id = orders["mug"], orders["pen"], orders["user"].id
    return [
        {
            "id": orders["paid"],
            "user_id": user_id,
            "status": "paid",
            "items": [
                {"product_id": mug.id, "sku": "MUG-02", "name": TRICKY_NAME,
                 "unit_price": 1200, "quantity": 2, "line_total": 2400,
                 "discount_amount": 0, "tax_amount": 0},
                {"product_id": pen.id, "sku": "PEN-01", "name": "Pen",
                 "unit_price": 250, "quantity": 3, "line_total": 750,
                 "discount_amount": 0, "tax_amount": 0},
            ],
            **NO_EXTRAS,
            "subtotal": 3150,
            "total": 3150,
            "currency": "USD",
            "created_at": "2025-03-01T09:30:00Z",
            "updated_at": "2025-03-01T09:30:00Z",
            "payment": {"charge_id": f"ch_test_{orders['paid']}", "status": "succeeded"},
        },
        {
            "id": orders["pending"],
            "user_id": user_id,
            "status": "pending",
            "items": [
                {"product_id": pen.id, "sku": "PEN-01", "name": "Pen",
                 "unit_price": 250, "quantity": 1, "line_total": 250,
                 "discount_amount": 0, "tax_amount": 0},
            ],
            **NO_EXTRAS,
            "subtotal": 250,
            "total": 250,
            "currency": "USD",
            "created_at": "2025-03-02T10:00:00.000500Z",
            "updated_at": "2025-03-02T10:00:00.000500Z",
            "payment": None,
        },
    ]  # fmt: skip


async def test_ndjson_is_one_order_per_line(
    orders: dict[str, Any], client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(URL, headers=admin_headers)  # ndjson is the default
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert re.fullmatch(
        r'attachment; filename="orders-\d{8}T\d{6}Z\.ndjson"',
        response.headers["content-disposition"],
    )
    assert response.headers["x-request-id"]
    assert response.content.endswith(b"\n")
    lines = response.content.splitlines()
    assert [orjson.loads(line) for line in lines] == expected_ndjson(orders)


async def test_csv_has_a_header_and_one_row_per_order_line(
    orders: dict[str, Any], client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(URL, params={"format": "csv"}, headers=admin_headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.csv"')
    # The awkward name is quoted, its quotes doubled, its newline kept inside the field.
    assert '"Mug, ""large""\nblue"' in response.text
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0] == list(CSV_COLUMNS)
    paid, pending, mug, pen = orders["paid"], orders["pending"], orders["mug"], orders["pen"]
    user = str(orders["user"].id)
    paid_fields = [str(paid), user, "paid", "2025-03-01T09:30:00Z", "2025-03-01T09:30:00Z",
                   "USD", "3150", "succeeded", f"ch_test_{paid}"]  # fmt: skip
    pending_fields = [str(pending), user, "pending", "2025-03-02T10:00:00.000500Z",
                      "2025-03-02T10:00:00.000500Z", "USD", "250", "", ""]  # fmt: skip
    # The columns added later come last: line discount and tax, the order's subtotal,
    # discount, shipping and tax totals, e-mail, shipping method and price, code, addresses.
    paid_tail = ["0", "0", "3150", "0", "0", "0", "", "", "", "", "", ""]
    pending_tail = ["0", "0", "250", "0", "0", "0", "", "", "", "", "", ""]
    assert rows[1:] == [
        [*paid_fields, str(mug.id), "MUG-02", TRICKY_NAME, "1200", "2", "2400", *paid_tail],
        [*paid_fields, str(pen.id), "PEN-01", "Pen", "250", "3", "750", *paid_tail],
        [*pending_fields, str(pen.id), "PEN-01", "Pen", "250", "1", "250", *pending_tail],
    ]
    assert response.content.count(b"\r\n") == 4  # RFC 4180 line ends; the \n is data


async def test_empty_store_exports_nothing_but_the_csv_header(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    ndjson = await client.get(URL, headers=admin_headers)
    assert (ndjson.status_code, ndjson.content) == (200, b"")
    csv_ = await client.get(URL, params={"format": "csv"}, headers=admin_headers)
    assert csv_.text == ",".join(CSV_COLUMNS) + "\r\n"


async def test_unknown_format_is_422(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.get(URL, params={"format": "xml"}, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]


async def test_admins_only(client: AsyncClient, customer_headers: dict[str, str]) -> None:
    anonymous = await client.get(URL)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    customer = await client.get(URL, params={"format": "csv"}, headers=customer_headers)
    assert customer.status_code == 403


async def test_orders_split_across_chunks_stay_whole(
    orders: dict[str, Any], admin_engine: AsyncEngine, database: Database
) -> None:
    # Three rows per chunk: the paid order's two lines straddle the first boundary.
    for number in range(3):
        await add_order(
            admin_engine,
            user_id=orders["user"].id,
            status=OrderStatus.SHIPPED,
            created_at=datetime(2025, 3, 3 + number, tzinfo=UTC),
            lines=[(orders["pen"], 1), (orders["mug"], number + 1)],
        )
    chunks = [chunk async for chunk in export_orders(database, "ndjson", rows_per_chunk=3)]
    assert len(chunks) > 2
    exported = [orjson.loads(line) for line in b"".join(chunks).splitlines()]
    assert exported[:2] == expected_ndjson(orders)
    assert [len(order["items"]) for order in exported] == [2, 1, 2, 2, 2]
    assert all(order["total"] == sum(i["line_total"] for i in order["items"]) for order in exported)
    csv_rows = [chunk async for chunk in export_orders(database, "csv", rows_per_chunk=3)]
    assert len(list(csv.reader(io.StringIO(b"".join(csv_rows).decode(), newline="")))) == 1 + 9


async def test_export_is_one_snapshot(
    orders: dict[str, Any], admin_engine: AsyncEngine, database: Database
) -> None:
    stream = export_orders(database, "ndjson", rows_per_chunk=1)
    first = await anext(stream)
    # Written while the export runs: not in it.
    late = await add_order(
        admin_engine,
        user_id=orders["user"].id,
        status=OrderStatus.PAID,
        created_at=datetime(2025, 3, 9, tzinfo=UTC),
        lines=[(orders["pen"], 1)],
    )
    rest = [chunk async for chunk in stream]
    ids = [orjson.loads(line)["id"] for line in b"".join([first, *rest]).splitlines()]
    assert ids == [orders["paid"], orders["pending"]]
    assert late not in ids
    assert database.pool_status()["checked_out"] == 0


@pytest.fixture
async def many_orders(admin_engine: AsyncEngine, settings: Settings) -> None:
    await create_product(admin_engine, "MUG-02", TRICKY_NAME, 1200)
    await create_product(admin_engine, "PEN-01", "Pen", 250)
    await seed_history(settings, 4000)


@pytest.mark.parametrize("stalled_in", ["fetch", "send"])
async def test_disconnect_at_the_asgi_level_releases_the_connection_at_once(
    many_orders: None, app: FastAPI, admin_headers: dict[str, str], stalled_in: str
) -> None:
    """The client's disconnect arrives right after the first chunk went out.

    ``fetch``: sending returns at once, so the cancellation lands while the export reads
    the next rows from the database. ``send``: the second chunk never finishes sending (a
    stalled socket), so the cancellation lands outside the generator, which is left
    suspended at its ``yield`` and must still be closed before the response returns.
    """
    gone = asyncio.Event()
    messages: list[MutableMapping[str, Any]] = []
    request_sent = False

    async def receive() -> dict[str, Any]:
        nonlocal request_sent
        if not request_sent:
            request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        messages.append(message)
        if message["type"] != "http.response.body" or not message.get("body"):
            return
        if stalled_in == "fetch":
            gone.set()
        elif len(messages) > 2:  # the start, one chunk delivered, then a stall
            gone.set()
            await asyncio.Event().wait()  # blocked until cancelled

    headers = [(b"host", b"test")] + [
        (name.lower().encode(), value.encode()) for name, value in admin_headers.items()
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"format=csv",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    async with running(app) as started:
        database = started.resources.database
        await asyncio.wait_for(started.asgi(scope, receive, send), 10)
        # Given back before the response call returned: no waiting for the garbage
        # collector to finalize an abandoned generator.
        assert database.pool_status()["checked_out"] == 0
    assert messages[0]["status"] == 200
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert bodies and all(m.get("more_body", False) for m in bodies)  # never completed


async def test_exports_at_once_are_bounded_per_worker(database: Database) -> None:
    from ecommerce.api.streaming import StartedStream
    from ecommerce.core.errors import ServiceUnavailable
    from ecommerce.services.order_export import ExportSlots

    slots = ExportSlots(1)
    running = await StartedStream.start(export_orders(database, "csv", slots=slots))
    with pytest.raises(ServiceUnavailable):
        await StartedStream.start(export_orders(database, "csv", slots=slots))
    assert database.pool_status()["checked_out"] == 1  # the refused one took nothing
    await running.aclose()
    again = await StartedStream.start(export_orders(database, "csv", slots=slots))
    await again.aclose()
    assert database.pool_status()["checked_out"] == 0
