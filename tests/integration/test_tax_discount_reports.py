"""Tax and discounts where money shows after checkout: the export (both formats) and the
sales report, from real checkouts."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import orjson
from httpx import AsyncClient

from ecommerce.services.order_export import CSV_COLUMNS
from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product

EXPORT = "/api/v1/admin/orders/export"


async def test_export_and_report_show_discount_and_tax(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    await client.put("/api/v1/admin/tax-rates/US", json={"rate_bps": 1075}, headers=admin_headers)
    mug = await new_product(client, admin_headers, stock=5, price=2499)
    pen = await new_product(client, admin_headers, stock=5, price=501)
    zone = await new_zone(client, admin_headers, ["US"], [{"name": "Ground", "price": 644}])
    await client.post(
        "/api/v1/admin/discounts",
        json={"code": "Spring", "kind": "fixed", "value": 300},
        headers=admin_headers,
    )
    cart = await cart_with(
        client,
        [(mug["id"], 1), (pen["id"], 1)],
        email="report@example.com",
        shipping_address=address("US"),
    )
    url = f"/api/v1/carts/{cart['id']}"
    await client.put(f"{url}/shipping-method", json={"option_id": zone["methods"][0]["id"]})
    cart = (await client.post(f"{url}/discount-code", json={"code": "SPRING"})).json()
    # 300 over 2499 and 501 (of 3000): 249.9 -> 250, 50.1 -> 50 (largest remainder).
    assert [line["discount_amount"] for line in cart["lines"]] == [250, 50]
    # 2249 * 10.75 % = 241.77 -> 242; 451 -> 48.48 -> 48; shipping 644 -> 69.
    assert [line["tax_amount"] for line in cart["lines"]] == [242, 48]
    assert cart["tax_total"] == 242 + 48 + 69
    assert cart["total"] == 3000 - 300 + 644 + 359
    placed = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert placed.status_code == 201, placed.text
    order = placed.json()
    charged = [c["amount"] for c in (await fake_gateway.ledger())["charges"]]
    assert charged == [order["total"]] == [cart["total"]]

    ndjson = await client.get(EXPORT, params={"format": "ndjson"}, headers=admin_headers)
    [exported] = [orjson.loads(line) for line in ndjson.content.splitlines()]
    assert exported["discount_code"] == "Spring"
    assert (exported["discount_total"], exported["tax_total"]) == (300, 359)
    assert exported["total"] == order["total"]
    assert [(i["discount_amount"], i["tax_amount"]) for i in exported["items"]] == [
        (250, 242),
        (50, 48),
    ]

    text = (await client.get(EXPORT, params={"format": "csv"}, headers=admin_headers)).text
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0][:15][-1] == "line_total"  # the original columns keep their places
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["line_discount_amount"], r["line_tax_amount"]) for r in records] == [
        ("250", "242"),
        ("50", "48"),
    ]
    assert {
        (r["order_discount_total"], r["order_tax_total"], r["discount_code"]) for r in records
    } == {("300", "359", "Spring")}

    today = datetime.now(UTC).date()
    report = await client.get(
        "/api/v1/admin/reports/sales",
        params={
            "start": (today - timedelta(days=1)).isoformat(),
            "end": (today + timedelta(days=2)).isoformat(),
        },
        headers=admin_headers,
    )
    assert report.status_code == 200, report.text
    figures = report.json()
    assert figures["revenue"] == order["total"]  # what was charged
    assert (figures["discount_total"], figures["tax_total"]) == (300, 359)
