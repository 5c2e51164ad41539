"""``per_customer_limit`` counts a signed-in buyer by account and a guest by e-mail.

Before: uses were counted by the order's e-mail only, so a customer putting a new
address on each order (me+1@..., me+2@...) got the discount every time, a guest giving a
customer's address used up that customer's allowance, and a signed-in cart without an
e-mail showed a discount its checkout then refused.
"""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import User
from tests.integration.test_checkout_tax_discounts import apply_code, checkout, new_code, times_used
from tests.support.carts import cart_with
from tests.support.gateway import FakeGateway
from tests.support.shop import new_product


def _order(product_id: int, **fields: Any) -> dict[str, Any]:
    return {
        "items": [{"product_id": product_id, "quantity": 1}],
        "payment_token": "tok_visa",
        "discount_code": "ONCE",
    } | fields


async def test_a_new_email_per_order_does_not_reset_the_customers_count(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="ONCE", per_customer_limit=1)
    answers = [
        await client.post(
            "/api/v1/orders",
            headers=customer_headers,
            json=_order(product["id"], email=f"me+{i}@example.com"),
        )
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 409, 409], [a.text for a in answers]
    assert answers[0].json()["discount_total"] == 100
    assert {a.json()["reason"] for a in answers[1:]} == {"used_up"}
    assert await times_used(admin_engine, code["id"]) == 1
    assert [c["amount"] for c in (await fake_gateway.ledger())["charges"]] == [900]
    # A cart of the same customer, whatever its e-mail, is refused the code too.
    cart = await cart_with(
        client, [(product["id"], 1)], headers=customer_headers, email="me+9@example.com"
    )
    refused = await apply_code(client, cart["id"], "ONCE", headers=customer_headers)
    assert refused.status_code == 422 and refused.json()["reason"] == "used_up"


async def test_a_guest_using_a_customers_email_does_not_use_their_allowance(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_user: User,
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    code = await new_code(client, admin_headers, code="ONCE", per_customer_limit=1)
    guest = await cart_with(client, [(product["id"], 1)], email=customer_user.email)
    assert (await apply_code(client, guest["id"], "ONCE")).status_code == 200
    assert (await checkout(client, guest["id"])).status_code == 201
    # The guest's own allowance (by e-mail, in any case) is used up ...
    again = await cart_with(client, [(product["id"], 1)], email=customer_user.email.upper())
    refused = await apply_code(client, again["id"], "ONCE")
    assert refused.status_code == 422 and refused.json()["reason"] == "used_up"
    # ... the customer's is not.
    own = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    applied = await apply_code(client, own["id"], "ONCE", headers=customer_headers)
    assert applied.status_code == 200, applied.text
    assert applied.json()["discount_total"] == 100
    placed = await checkout(client, own["id"], headers=customer_headers)
    assert placed.status_code == 201, placed.text
    assert placed.json()["discount_total"] == 100
    assert await times_used(admin_engine, code["id"]) == 2


async def test_a_signed_in_cart_without_email_shows_what_checkout_gives(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=5, price=1000)
    await new_code(client, admin_headers, code="ONCE", per_customer_limit=1)
    cart = await cart_with(client, [(product["id"], 1)], headers=customer_headers)
    applied = await apply_code(client, cart["id"], "ONCE", headers=customer_headers)
    assert applied.json()["discount_total"] == 100 and applied.json()["email"] is None
    # The customer uses the code on a direct order meanwhile.
    placed = await client.post(
        "/api/v1/orders", headers=customer_headers, json=_order(product["id"])
    )
    assert placed.status_code == 201, placed.text
    # The cart no longer shows the discount it can no longer get ...
    shown = (await client.get(f"/api/v1/carts/{cart['id']}", headers=customer_headers)).json()
    assert (shown["discount_code"], shown["discount_total"], shown["total"]) == ("ONCE", 0, 1000)
    # ... and its checkout refuses the code before any charge.
    refused = await checkout(client, cart["id"], headers=customer_headers)
    assert refused.status_code == 409 and refused.json()["reason"] == "used_up"
    assert [c["amount"] for c in (await fake_gateway.ledger())["charges"]] == [900]
