"""Demo tax rates and a sample discount code, so the demo shop shows tax and a code.

Loading inserts only what is missing: rerunning ``serve --demo`` never overwrites a rate
or a code the shop changed since.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.repositories import discount as discount_repo
from ecommerce.repositories import tax_rate as tax_rate_repo

# Standard VAT / sales-tax rates in basis points (illustrative, not tax advice).
DEMO_TAX_RATES = (
    ("US", 725, "Sales tax"),
    ("DE", 1900, "MwSt"),
    ("FR", 2000, "TVA"),
    ("GB", 2000, "VAT"),
    ("NL", 2100, "BTW"),
    ("CA", 500, "GST"),
)
# 10 % off, once per customer, for the first 1000 orders.
DEMO_CODE = {
    "code": "WELCOME10",
    "kind": "percent",
    "value": 1000,
    "usage_limit": 1000,
    "per_customer_limit": 1,
}


async def seed_pricing(session: AsyncSession) -> tuple[int, int]:
    """Insert the missing demo rates and code; (rates added, codes added)."""
    rates = await tax_rate_repo.insert_missing(
        session,
        [{"country": c, "rate_bps": r, "name": n} for c, r, n in DEMO_TAX_RATES],
    )
    code = await discount_repo.insert_discount(session, **DEMO_CODE)
    return rates, 0 if code is None else 1
