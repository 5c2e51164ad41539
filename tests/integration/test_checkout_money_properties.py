"""Random carts, codes and rates through real checkouts: the charge is the total, to the cent.

Hypothesis draws the cases (generation only: each case is a whole checkout over HTTP, so
there is no shrinking); each is checked against the pricing module and the gateway's
ledger.
"""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from ecommerce.services.pricing import DiscountRule, PriceLine, ShippingRate, compute_totals
from tests.support.carts import address, cart_with, new_zone
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product

CASES = 8

case_strategy = st.fixed_dictionaries(
    {
        "lines": st.lists(
            st.tuples(st.integers(1, 50_000), st.integers(1, 5)), min_size=1, max_size=4
        ),
        "rate": st.integers(0, 2700),
        "shipping": st.integers(0, 2_000),
        "free_over": st.none() | st.integers(0, 100_000),
        "discount": st.none()
        | st.tuples(st.just("percent"), st.integers(1, 10_000))
        | st.tuples(st.just("fixed"), st.integers(1, 50_000)),
    }
)


def draw_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = []

    @settings(max_examples=CASES, phases=[Phase.generate], database=None, deadline=None)
    @given(case_strategy)
    def collect(case: dict[str, Any]) -> None:
        cases.append(case)

    collect()
    return cases


async def test_random_checkouts_charge_exactly_the_total(
    client: AsyncClient, admin_headers: dict[str, str], fake_gateway: FakeGateway
) -> None:
    countries = ["DE", "FR", "NL", "AT", "BE", "IT", "ES", "PT", "SE", "DK", "FI", "IE"]
    for number, case in enumerate(draw_cases()):
        country = countries[number % len(countries)]
        await client.put(
            f"/api/v1/admin/tax-rates/{country}",
            json={"rate_bps": case["rate"]},
            headers=admin_headers,
        )
        method = {"name": "Post", "price": case["shipping"], "free_over": case["free_over"]}
        zone = await new_zone(client, admin_headers, [country], [method], name=f"Z{number}")
        products = [
            (await new_product(client, admin_headers, stock=10, price=price), quantity)
            for price, quantity in case["lines"]
        ]
        cart = await cart_with(
            client,
            [(p["id"], q) for p, q in products],
            email=f"buyer{number}@example.com",
            shipping_address=address(country),
        )
        url = f"/api/v1/carts/{cart['id']}"
        chosen = await client.put(
            f"{url}/shipping-method", json={"option_id": zone["methods"][0]["id"]}
        )
        assert chosen.status_code == 200, chosen.text
        rule = None
        if case["discount"] is not None:
            kind, value = case["discount"]
            code = f"CASE{number}"
            created = await client.post(
                "/api/v1/admin/discounts",
                json={"code": code, "kind": kind, "value": value},
                headers=admin_headers,
            )
            assert created.status_code == 201, created.text
            applied = await client.post(f"{url}/discount-code", json={"code": code})
            assert applied.status_code == 200, applied.text
            rule = DiscountRule(kind=kind, value=value)
        expected = compute_totals(
            [PriceLine(p["price"], q) for p, q in products],
            discount=rule,
            shipping=ShippingRate(case["shipping"], case["free_over"]),
            tax_rate_bps=case["rate"],
        )
        charged_before = len((await fake_gateway.ledger())["charges"])
        placed = await client.post(
            f"{url}/checkout", json={"payment_token": "tok_visa", "expected_total": expected.total}
        )
        assert placed.status_code == 201, (case, placed.text)
        order = placed.json()
        assert order["total"] == expected.total
        assert order["subtotal"] == sum(i["line_total"] for i in order["items"])
        assert order["discount_total"] == sum(i["discount_amount"] for i in order["items"])
        assert order["tax_total"] == sum(i["tax_amount"] for i in order["items"]) + (
            expected.shipping_tax
        )
        assert order["total"] == (
            order["subtotal"]
            - order["discount_total"]
            + order["shipping_total"]
            + order["tax_total"]
        )
        charges = (await fake_gateway.ledger())["charges"]
        if expected.total == 0:  # a free order: nothing to charge
            assert len(charges) == charged_before
        else:
            assert len(charges) == charged_before + 1
            assert charges[-1]["amount"] == expected.total
