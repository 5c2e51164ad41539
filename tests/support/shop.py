"""Shop-level helpers for tests: customers, products, stock, the ledger invariant."""

from __future__ import annotations

import itertools
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Order, Product
from ecommerce.services.order_state import charge_key

_numbers = itertools.count(1)


async def new_customer(client: AsyncClient, name: str | None = None) -> dict[str, str]:
    """Register a customer through the API and return its Authorization header."""
    email = f"{name or 'customer'}-{next(_numbers)}@example.com"
    password = "correct horse battery"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password}
    )
    assert registered.status_code == 201, registered.text
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def new_product(
    client: AsyncClient, admin: dict[str, str], *, stock: int, price: int = 1000, **extra: Any
) -> dict[str, Any]:
    number = next(_numbers)
    response = await client.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": f"SKU-{number}", "name": f"Product {number}", "price": price, "stock": stock}
        | extra,
    )
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


def order_body(*lines: tuple[int, int], token: str = "tok_visa") -> dict[str, Any]:
    return {
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "payment_token": token,
    }


async def stock_of(engine: AsyncEngine, product_id: int) -> int:
    async with engine.connect() as conn:
        value = await conn.scalar(select(Product.stock).where(Product.id == product_id))
    assert value is not None
    return int(value)


async def order_statuses(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(Order.id, Order.status))
    return {row.id: row.status for row in rows}


async def assert_money_matches_orders(engine: AsyncEngine, ledger: dict[str, Any]) -> None:
    """The invariant of checkout, over every order and the gateway's whole ledger.

    paid/shipped <=> a live (unrefunded) charge of the order's total;
    cancelled <=> a charge fully refunded; payment_failed: no charge, or (an orphan
    charge: late, or not matching the order) a charge owed back (``refund_due``) or
    refunded in full; no charge without an order; nothing twice.
    """
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT id, status, total, currency, payment_key, charge_id, payment_status "
                    'FROM "order"'
                )
            )
        ).all()
    charges = {c["idempotency_key"]: c for c in ledger["charges"]}
    assert len(charges) == len(ledger["charges"]), "two charges share an idempotency key"
    refunds: dict[str, int] = {}
    for refund in ledger["refunds"]:
        refunds[refund["charge_id"]] = refunds.get(refund["charge_id"], 0) + refund["amount"]
    keys = set()
    for order_id, status, total, currency, payment_key, charge_id, payment_status in rows:
        key = charge_key(payment_key)
        keys.add(key)
        charge = charges.get(key)
        if total == 0:  # a free order: nothing charged, nothing refunded
            assert charge is None and charge_id is None, f"free order {order_id} was charged"
        elif status in ("paid", "shipped"):
            assert charge is not None, f"order {order_id} is {status} without a charge"
            assert charge["amount"] == total and charge["currency"] == currency
            assert charge["id"] == charge_id
            assert refunds.get(charge["id"], 0) == 0, f"order {order_id} {status} but refunded"
        elif status == "cancelled":
            assert charge is not None, f"order {order_id} cancelled without a charge"
            assert refunds.get(charge["id"], 0) == total, f"order {order_id} not refunded once"
        else:  # pending (unknown outcome) may or may not have one; payment_failed has none
            if status == "payment_failed" and payment_status in ("refund_due", "refund_refused"):
                assert charge is not None and charge["id"] == charge_id
            elif status == "payment_failed" and payment_status == "refunded":
                assert charge is not None, f"order {order_id} refunded without a charge"
                assert refunds.get(charge["id"], 0) == charge["amount"], f"{order_id} refund"
            elif status == "payment_failed":
                assert charge is None, f"order {order_id} payment_failed but charged"
    stray = set(charges) - keys
    assert not stray, f"charges without an order: {stray}"
