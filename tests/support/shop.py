"""Shop-level reads for tests: stock, order statuses, and the money invariant.

Test data is made in tests/support/factories.py; its API helpers are re-exported here
for tests written before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Order, Product
from ecommerce.services.order_state import charge_key
from tests.support.factories import new_customer as new_customer
from tests.support.factories import new_product as new_product
from tests.support.factories import order_body as order_body


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
