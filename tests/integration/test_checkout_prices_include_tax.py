"""ECOMMERCE_PRICES_INCLUDE_TAX: the total is the gross price; the tax is the part it holds."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import assert_money_matches_orders, new_product


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"prices_include_tax": True, "store_country": "DE"})


async def test_golden_case_prices_include_tax(
    client: AsyncClient,
    admin_headers: dict[str, str],
    fake_gateway: FakeGateway,
    admin_engine: AsyncEngine,
) -> None:
    await client.put("/api/v1/admin/tax-rates/DE", json={"rate_bps": 1900}, headers=admin_headers)
    product = await new_product(client, admin_headers, stock=5, price=1999)
    # No address at all: not shipped, taxed at the store's country (DE).
    cart = await cart_with(client, [(product["id"], 1)], email="brutto@example.com")
    line = cart["lines"][0]
    assert line["tax_amount"] == 319
    assert line["line_total"] - line["discount_amount"] - line["tax_amount"] == 1680  # net
    assert (cart["tax_total"], cart["total"]) == (319, 1999)

    placed = await client.post(
        f"/api/v1/carts/{cart['id']}/checkout", json={"payment_token": "tok_visa"}
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert (order["subtotal"], order["tax_total"], order["total"]) == (1999, 319, 1999)
    assert order["items"][0]["tax_amount"] == 319
    ledger = await fake_gateway.ledger()
    assert [c["amount"] for c in ledger["charges"]] == [1999]
    await assert_money_matches_orders(admin_engine, ledger)


async def test_included_tax_on_discounted_lines_and_shipping(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    await client.put("/api/v1/admin/tax-rates/FR", json={"rate_bps": 2000}, headers=admin_headers)
    product = await new_product(client, admin_headers, stock=5, price=1200)
    zone = await new_zone(client, admin_headers, ["FR"], [{"name": "Colissimo", "price": 600}])
    await client.post(
        "/api/v1/admin/discounts",
        json={"code": "QUART", "kind": "percent", "value": 2500},
        headers=admin_headers,
    )
    cart = await cart_with(
        client, [(product["id"], 2)], email="ttc@example.com", shipping_address=address("FR")
    )
    url = f"/api/v1/carts/{cart['id']}"
    await client.put(f"{url}/shipping-method", json={"option_id": zone["methods"][0]["id"]})
    cart = (await client.post(f"{url}/discount-code", json={"code": "quart"})).json()
    # 2400 - 600 = 1800 gross holds 1800 * 2000 / 12000 = 300 tax; shipping 600 holds 100.
    assert cart["discount_total"] == 600
    assert cart["lines"][0]["tax_amount"] == 300
    assert (cart["shipping_total"], cart["tax_total"], cart["total"]) == (600, 400, 2400)
    placed = await client.post(f"{url}/checkout", json={"payment_token": "tok_visa"})
    assert placed.status_code == 201, placed.text
    assert placed.json()["total"] == 2400
    assert [c["amount"] for c in (await fake_gateway.ledger())["charges"]] == [2400]
