"""An order keeps its shipping tax: Σ line tax_amount + shipping_tax == tax_total, always.

Before: orders dropped the pricing module's ``shipping_tax``, so the tax on shipping was
in ``tax_total`` but in no field of its own (the lines' tax did not add up to it).
"""

from __future__ import annotations

import csv
import io

import orjson
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.services.order_export import CSV_COLUMNS
from tests.integration.test_checkout_tax_discounts import (
    apply_code,
    checkout,
    new_code,
    set_rate,
    shipped_cart,
)
from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product

EXPORT = "/api/v1/admin/orders/export"


async def test_line_tax_and_shipping_tax_add_up_to_the_tax_total(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    await set_rate(client, admin_headers, "US", 1075)
    await set_rate(client, admin_headers, "DE", 1900)
    a = await new_product(client, admin_headers, stock=20, price=2499)
    b = await new_product(client, admin_headers, stock=20, price=333)
    await new_code(client, admin_headers, code="TEN", kind="percent", value=1000)
    orders = []
    # A shipped cart with a code (US), the golden case: 269 on the line, 69 on shipping.
    cart = await shipped_cart(
        client, admin_headers, [(a["id"], 1), (b["id"], 3)], country="US", shipping_price=644
    )
    await apply_code(client, cart["id"], "TEN")
    orders.append((await checkout(client, cart["id"])).json())
    # A direct order shipped to DE, and one not shipped (the store's country: US).
    zone = await new_zone(client, admin_headers, ["DE"], [{"name": "DHL", "price": 499}])
    direct = {
        "items": [{"product_id": a["id"], "quantity": 2}, {"product_id": b["id"], "quantity": 1}],
        "payment_token": "tok_visa",
        "shipping_address": address("DE"),
        "shipping_option_id": zone["methods"][0]["id"],
    }
    placed = await client.post("/api/v1/orders", headers=customer_headers, json=direct)
    assert placed.status_code == 201, placed.text
    orders.append(placed.json())
    plain = await cart_with(client, [(b["id"], 7)], email="g@example.com")
    orders.append((await checkout(client, plain["id"])).json())

    for order in orders:
        assert order["status"] == "paid", order
        lines_tax = sum(item["tax_amount"] for item in order["items"])
        assert lines_tax + order["shipping_tax"] == order["tax_total"], order
    assert [o["shipping_tax"] for o in orders] == [69, 95, 0]
    # Read back, and over every order in the database.
    again = await client.get(f"/api/v1/orders/{orders[1]['id']}", headers=customer_headers)
    assert again.json()["shipping_tax"] == 95
    async with admin_engine.connect() as conn:
        mismatched = await conn.scalar(
            text(
                'SELECT count(*) FROM "order" o WHERE o.tax_total <> o.shipping_tax + '
                "(SELECT coalesce(sum(tax_amount), 0) FROM order_line WHERE order_id = o.id)"
            )
        )
    assert mismatched == 0

    # The export carries it: an NDJSON field, the CSV's last column.
    ndjson = await client.get(EXPORT, headers=admin_headers)
    exported = [orjson.loads(line) for line in ndjson.text.splitlines()]
    assert [o["shipping_tax"] for o in exported] == [69, 95, 0]
    table = await client.get(EXPORT, params={"format": "csv"}, headers=admin_headers)
    rows = list(csv.reader(io.StringIO(table.text)))
    assert rows[0][-1] == CSV_COLUMNS[-1] == "order_shipping_tax"
    assert {(r[0], r[-1]) for r in rows[1:]} == {
        (str(o["id"]), str(o["shipping_tax"])) for o in orders
    }
