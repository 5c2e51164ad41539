"""Demo shipping zones, so the demo shop can ship and check out end to end.

Loading adds a zone only when none of its countries is in a zone yet: rerunning
``serve --demo`` never overwrites zones the shop set up or changed since.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.repositories import shipping as shipping_repo

DEMO_ZONES: tuple[dict[str, Any], ...] = (
    {
        "name": "United States",
        "countries": ["US"],
        "methods": [
            {"name": "Ground", "price": 599, "free_over": 5000},
            {"name": "Express", "price": 1499, "free_over": None},
        ],
    },
    {
        "name": "Europe",
        "countries": ["AT", "BE", "DE", "ES", "FR", "GB", "IE", "IT", "NL"],
        "methods": [
            {"name": "Standard", "price": 990, "free_over": 10000},
            {"name": "Express", "price": 2490, "free_over": None},
        ],
    },
    {
        "name": "Canada",
        "countries": ["CA"],
        "methods": [{"name": "Standard", "price": 1290, "free_over": None}],
    },
)


async def seed_shipping(session: AsyncSession) -> int:
    """Insert the demo zones whose countries are all free; how many were added."""
    added = 0
    for zone in DEMO_ZONES:
        if await shipping_repo.owners(session, zone["countries"]):
            continue  # the shop ships there already: its zones win
        zone_id = await shipping_repo.add_zone(session, zone["name"])
        taken = await shipping_repo.claim_countries(session, zone_id, zone["countries"])
        assert not taken, "checked just above, in the same transaction"
        for method in zone["methods"]:
            await shipping_repo.add_method(session, zone_id, **method)
        added += 1
    return added
