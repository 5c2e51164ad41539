"""What an order keeps of the moment it was placed: names, prices, amounts, addresses.

Built from the catalog rows and the pricing module's result, never from the client, and
never recomputed later: a change of catalog, zones or rates does not touch an order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecommerce.models import OrderLine, Product, ShippingMethod
from ecommerce.services.pricing import PriceLine, Totals


@dataclass(frozen=True)
class Item:
    """What an order line keeps of its product (as the catalog had it), and how many."""

    product_id: int
    sku: str
    name: str
    unit_price: int
    quantity: int

    @classmethod
    def of_product(cls, product: Product, quantity: int) -> Item:
        return cls(product.id, product.sku, product.name, product.price, quantity)

    @property
    def price_line(self) -> PriceLine:
        return PriceLine(self.unit_price, self.quantity)


def order_lines(items: Sequence[Item], totals: Totals) -> list[OrderLine]:
    """One order line per item, with its priced amounts (``totals`` of the same items)."""
    return [
        OrderLine(
            product_id=item.product_id,
            sku=item.sku,
            name=item.name,
            unit_price=item.unit_price,
            quantity=item.quantity,
            line_total=amounts.line_total,
            discount_amount=amounts.discount_amount,
            tax_amount=amounts.tax_amount,
        )
        for item, amounts in zip(items, totals.lines, strict=True)
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
        "shipping_tax": totals.shipping_tax,
        "email": email,
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "shipping_method": None if method is None else method.name,
        "shipping_price": None if method is None else totals.shipping_total,
        "discount_code": discount_code,
    }
