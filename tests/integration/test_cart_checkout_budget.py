"""The query budget of a cart checkout: a 10-line cart in at most 15 SQL statements.

Saleor's checkout runs ~230 queries (saleor#14857); ours counts every statement the
service sends for the request, with a SQLAlchemy event hook on the app's own engine:
the caller's identity, the three transactions of the checkout (reserve and insert,
the charge mark, the settlement) with the limits and the events they record.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from tests.support.carts import address, cart_with, new_zone
from tests.support.shop import new_customer, new_product
from tests.support.statements import counting_statements

BUDGET = 15
LINES = 10


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Nothing else may use the engine while the statements are counted.
    return settings.model_copy(update={"reconciler_enabled": False})


@pytest.mark.parametrize(
    ("signed_in", "with_code"),
    [(False, False), (True, False), (True, True)],
    ids=["guest", "account", "account-with-tax-and-code"],
)
async def test_a_ten_line_checkout_stays_within_budget(
    client: AsyncClient,
    admin_headers: dict[str, str],
    resources: Resources,
    signed_in: bool,
    with_code: bool,
) -> None:
    zone = await new_zone(client, admin_headers, ["DE"], [{"name": "DHL", "price": 644}])
    products = [await new_product(client, admin_headers, stock=50) for _ in range(LINES)]
    headers = await new_customer(client) if signed_in else {}
    cart = await cart_with(
        client,
        [(product["id"], 2) for product in products],
        headers,
        email="budget@example.com",
        shipping_address=address("DE"),
    )
    chosen = await client.put(
        f"/api/v1/carts/{cart['id']}/shipping-method",
        headers=headers,
        json={"option_id": zone["methods"][0]["id"]},
    )
    if with_code:
        await client.put(
            "/api/v1/admin/tax-rates/DE", headers=admin_headers, json={"rate_bps": 1900}
        )
        code = {"code": "BUDGET", "kind": "percent", "value": 1000, "per_customer_limit": 1}
        await client.post("/api/v1/admin/discounts", headers=admin_headers, json=code)
        applied = await client.post(
            f"/api/v1/carts/{cart['id']}/discount-code", headers=headers, json={"code": "budget"}
        )
        assert applied.status_code == 200, applied.text
        chosen = applied
    total = chosen.json()["total"]

    with counting_statements(resources.database.engine) as statements:
        response = await client.post(
            f"/api/v1/carts/{cart['id']}/checkout",
            headers=headers,
            json={"payment_token": "tok_visa", "expected_total": total},
        )
    assert response.status_code == 201, response.text
    assert len(response.json()["items"]) == LINES
    assert (response.json()["discount_total"] > 0) == with_code
    print(f"\n{len(statements)} statements for a {LINES}-line checkout:")
    for statement in statements:
        print("  ", " ".join(statement.split())[:110])
    assert len(statements) <= BUDGET, "\n".join(statements)


async def test_a_ten_line_direct_order_stays_within_the_same_budget(
    client: AsyncClient,
    admin_headers: dict[str, str],
    resources: Resources,
) -> None:
    # ``POST /orders`` goes through the same checkout: the stock of any number of lines
    # is two statements (the products locked, one conditional UPDATE), not one per line.
    await new_zone(client, admin_headers, ["DE"], [{"name": "DHL", "price": 644}])
    products = [await new_product(client, admin_headers, stock=50) for _ in range(LINES)]
    headers = await new_customer(client)
    body = {
        "items": [{"product_id": product["id"], "quantity": 2} for product in products],
        "payment_token": "tok_visa",
    }
    with counting_statements(resources.database.engine) as statements:
        response = await client.post("/api/v1/orders", headers=headers, json=body)
    assert response.status_code == 201, response.text
    assert len(response.json()["items"]) == LINES
    print(f"\n{len(statements)} statements for a {LINES}-line direct order:")
    for statement in statements:
        print("  ", " ".join(statement.split())[:110])
    assert len(statements) <= BUDGET, "\n".join(statements)
