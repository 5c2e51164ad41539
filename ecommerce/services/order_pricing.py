"""The money of a direct order (``POST /orders``), priced exactly as a cart checkout is.

The optional cart fields of a direct order (e-mail, addresses, a shipping option, a
discount code) go through the same shipping rules and the same pricing module as a cart:
a shipping address needs an option of the zone that covers its country, an option needs
a shipping address, and the totals come from ``cart_pricing.price``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.errors import InvalidInput
from ecommerce.models import ShippingMethod
from ecommerce.schemas.order import OrderCreate
from ecommerce.services import shipping
from ecommerce.services.cart_pricing import (
    Adjustments,
    adjustments_for,
    destination_country,
    price,
)
from ecommerce.services.pricing import PriceLine, Totals


async def shipping_of(session: AsyncSession, request: OrderCreate) -> ShippingMethod | None:
    """The shipping method a direct order asked for; None when it is not shipped."""
    address = request.shipping_address
    if address is None:
        if request.shipping_option_id is not None:
            raise InvalidInput("shipping_option_id: give a shipping_address to ship to")
        return None
    if request.shipping_option_id is None:
        if not await shipping.options_for(session, address.country):
            raise InvalidInput(f"shipping_address: no shipping zone covers {address.country}")
        raise InvalidInput(
            "shipping_option_id: an order with a shipping address needs a shipping option"
        )
    method = await shipping.method_for(session, request.shipping_option_id, address.country)
    if method is None:
        raise InvalidInput(
            f"shipping_option_id: shipping option {request.shipping_option_id} is not "
            f"available for {address.country}"
        )
    return method


def _dumped(request: OrderCreate) -> tuple[dict[str, object] | None, dict[str, object] | None]:
    shipping_address = request.shipping_address
    billing_address = request.billing_address
    return (
        None if shipping_address is None else shipping_address.model_dump(mode="json"),
        None if billing_address is None else billing_address.model_dump(mode="json"),
    )


async def price_order(
    session: AsyncSession,
    settings: Settings,
    *,
    lines: Sequence[PriceLine],
    method: ShippingMethod | None,
    request: OrderCreate,
    user_id: int | None,
    email: str | None,
) -> tuple[Totals, Adjustments]:
    """The order's totals and the discount and tax they include.

    A discount code that does not apply is refused here (422; used up: 409), before
    anything is charged; its use is taken once the order exists (``take_use_for``).
    """
    shipping_address, billing_address = _dumped(request)
    adjustments = await adjustments_for(
        session,
        settings,
        country=destination_country(shipping_address, billing_address),
        discount_code=request.discount_code,
        user_id=user_id,
        subtotal=sum(line.unit_price * line.quantity for line in lines),
        email=email,
        at_checkout=True,
    )
    return price(lines, method, adjustments, settings), adjustments


def addresses(request: OrderCreate) -> dict[str, object]:
    shipping_address, billing_address = _dumped(request)
    return {"shipping_address": shipping_address, "billing_address": billing_address}
