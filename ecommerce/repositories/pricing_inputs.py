"""What a price depends on besides the lines, read in one round trip.

A cart's view and its checkout need the chosen shipping method (if its zone still
covers the country), the destination's tax rate and the discount code's row. Each is
a lookup by key, so one statement with three outer joins on a single row reads them all.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, false, func, literal, select
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
    covers = (
        false()
        if method_id is None or ship_country is None
        else and_(
            ShippingMethod.id == method_id,
            ShippingMethod.zone_id.in_(
                select(ShippingZoneCountry.zone_id).where(
                    ShippingZoneCountry.country == ship_country
                )
            ),
        )
    )
    coded = false() if code is None else func.lower(Discount.code) == code.lower()
    one = select(literal(1).label("one")).subquery("one")
    statement = (
        select(ShippingMethod, TaxRate.rate_bps, Discount)
        .select_from(one)
        .outerjoin(ShippingMethod, covers)
        .outerjoin(TaxRate, TaxRate.country == tax_country)
        .outerjoin(Discount, coded)
        .execution_options(populate_existing=True)
    )
    method, rate_bps, discount = (await session.execute(statement)).one()
    return PricingInputs(method, rate_bps, discount)
