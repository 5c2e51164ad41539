"""Reports over orders placed through the real checkout (API and fake gateway)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from httpx import AsyncClient

from tests.support.factories import new_product, place_order


async def place(
    client: AsyncClient,
    headers: dict[str, str],
    lines: list[tuple[int, int]],
    token: str = "tok_visa",
) -> int:
    response = await place_order(client, headers, *lines, token=token)
    order_id: int = (
        response.json()["id"] if response.status_code == 201 else response.json()["order_id"]
    )
    return order_id


async def test_reports_follow_checkout_cancel_and_ship(
    client: AsyncClient, admin_headers: dict[str, str], customer_headers: dict[str, str]
) -> None:
    mug = await new_product(client, admin_headers, stock=50, price=1000)
    pen = await new_product(client, admin_headers, stock=50, price=250)
    shipped = await place(client, customer_headers, [(mug["id"], 2), (pen["id"], 4)])  # 3000
    paid = await place(client, customer_headers, [(pen["id"], 1)])  # 250
    cancelled = await place(client, customer_headers, [(mug["id"], 5)])
    declined = await place(client, customer_headers, [(mug["id"], 1)], token="tok_chargeDeclined")
    assert (
        await client.post(f"/api/v1/orders/{shipped}/ship", headers=admin_headers)
    ).status_code == 200
    assert (
        await client.post(f"/api/v1/orders/{cancelled}/cancel", headers=customer_headers)
    ).status_code == 200

    today = datetime.now(UTC).date()
    report = await client.get(
        "/api/v1/admin/reports/sales",
        headers=admin_headers,
        params={"start": today.isoformat(), "end": (today + timedelta(days=1)).isoformat()},
    )
    assert report.status_code == 200, report.text
    figures = report.json()
    assert (figures["orders"], figures["units"], figures["revenue"]) == (2, 7, 3250)
    top = [(p["product_id"], p["units"], p["revenue"]) for p in figures["top_products"]]
    assert top == [(mug["id"], 2, 2000), (pen["id"], 5, 1250)]

    export = await client.get(
        "/api/v1/admin/orders/export", headers=admin_headers, params={"format": "ndjson"}
    )
    assert export.status_code == 200
    lines: list[dict[str, Any]] = [orjson.loads(line) for line in export.text.splitlines()]
    assert {o["id"]: o["status"] for o in lines} == {
        shipped: "shipped",
        paid: "paid",
        cancelled: "cancelled",
        declined: "payment_failed",
    }
    # The export and the API describe an order the same way.
    one = (await client.get(f"/api/v1/orders/{shipped}", headers=admin_headers)).json()
    exported = next(o for o in lines if o["id"] == shipped)
    assert {k: exported[k] for k in one} == one
