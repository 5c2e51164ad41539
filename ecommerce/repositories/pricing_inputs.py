"""What a price depends on besides the lines, read in one round trip.

A cart's view and its checkout need the chosen shipping method (if its zone still
covers the country), the destination's tax rate and the discount code's row. Each is
a lookup by key, so one statement with three outer joins on a single row reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from sqlalchemy import Select, and_, bindparam, false, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Discount, ShippingMethod, ShippingZoneCountry, TaxRate


@dataclass(frozen=True)
class PricingInputs:
    method: ShippingMethod | None  # None: none chosen, or its zone no longer covers the country
    tax_rate_bps: int | None  # None: the country has no rate
    discount: Discount | None  # None: no code, or no discount of that code


async def load(
    session: AsyncSession,
    *,
    method_id: int | None,
    ship_country: str | None,
    tax_country: str,
    code: str | None,
) -> PricingInputs:
    """The method ``method_id`` if it ships to ``ship_country``, the rate of
    ``tax_country`` and the discount of ``code`` (any case)."""
    shipped = method_id is not None and ship_country is not None
    params = {
        "method_id": method_id,
        "ship_country": ship_country,
        "tax_country": tax_country,
        "code": None if code is None else code.lower(),
    }
    result = await session.execute(_statement(shipped, code is not None), params)
    method, rate_bps, discount = result.one()
    return PricingInputs(method, rate_bps, discount)


@cache
def _statement(shipped: bool, coded: bool) -> Select[ShippingMethod, int, Discount]:
    """Built once per shape; each call only binds."""
    covers = (
        and_(
            ShippingMethod.id == bindparam("method_id"),
            ShippingMethod.zone_id.in_(
                select(ShippingZoneCountry.zone_id).where(
                    ShippingZoneCountry.country == bindparam("ship_country")
                )
            ),
        )
        if shipped
        else false()
    )
    code = func.lower(Discount.code) == bindparam("code") if coded else false()
    one = select(literal(1).label("one")).subquery("one")
    return (
        select(ShippingMethod, TaxRate.rate_bps, Discount)
        .select_from(one)
        .outerjoin(ShippingMethod, covers)
        .outerjoin(TaxRate, TaxRate.country == bindparam("tax_country"))
        .outerjoin(Discount, code)
        .execution_options(populate_existing=True)
    )
