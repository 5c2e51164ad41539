"""What an order keeps of the moment it was placed: names, prices, amounts, addresses.

Built from the catalog rows and the pricing module's result, never from the client, and
never recomputed later: a change of catalog, zones or rates does not touch an order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecommerce.models import OrderLine, Product, ShippingMethod
from ecommerce.services.pricing import Totals


def order_lines(items: Sequence[tuple[Product, int]], totals: Totals) -> list[OrderLine]:
    """One order line per ``(product, quantity)``, with its priced amounts (same order)."""
    return [
        OrderLine(
            product_id=product.id,
            sku=product.sku,
            name=product.name,
            unit_price=product.price,
            quantity=quantity,
            line_total=amounts.line_total,
            discount_amount=amounts.discount_amount,
            tax_amount=amounts.tax_amount,
        )
        for (product, quantity), amounts in zip(items, totals.lines, strict=True)
    ]


def order_values(
    totals: Totals,
    *,
    email: str | None,
    shipping_address: dict[str, Any] | None,
    billing_address: dict[str, Any] | None,
    method: ShippingMethod | None,
    discount_code: str | None,
) -> dict[str, Any]:
    """The order's columns besides its lines, status and owner."""
    return {
        "total": totals.total,
        "subtotal": totals.subtotal,
        "discount_total": totals.discount_total,
        "shipping_total": totals.shipping_total,
        "tax_total": totals.tax_total,
        "email": email,
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "shipping_method": None if method is None else method.name,
        "shipping_price": None if method is None else totals.shipping_total,
        "discount_code": discount_code,
    }
