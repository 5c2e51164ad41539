"""Shipping zones (admin) and the options a destination country has."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import Conflict, InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import ShippingMethod, ShippingZone
from ecommerce.repositories import shipping as shipping_repo
from ecommerce.schemas.shipping import (
    ShippingMethodCreate,
    ShippingZoneCreate,
    ShippingZoneRead,
    ShippingZoneUpdate,
)


def zone_read(zone: ShippingZone) -> ShippingZoneRead:
    return ShippingZoneRead.model_validate(
        {
            "id": zone.id,
            "name": zone.name,
            "countries": [row.country for row in zone.countries],
            "methods": zone.methods,
            "created_at": zone.created_at,
            "updated_at": zone.updated_at,
        },
        from_attributes=True,
    )


async def _claim(session: AsyncSession, zone_id: int, countries: Sequence[str]) -> None:
    taken = await shipping_repo.claim_countries(session, zone_id, countries)
    if taken:
        owners = await shipping_repo.owners(session, sorted(taken))
        listed = ", ".join(f"{c} (zone {owners[c]})" for c in sorted(owners)) or ", ".join(taken)
        # The request's transaction rolls back: nothing of this write stays.
        raise Conflict(f"A country belongs to at most one zone; already in another: {listed}")


async def _get(session: AsyncSession, zone_id: int) -> ShippingZone:
    zone = await shipping_repo.get_zone(session, zone_id)
    if zone is None:
        raise NotFound(f"Shipping zone {zone_id} not found")
    return zone


async def create_zone(session: AsyncSession, data: ShippingZoneCreate) -> ShippingZone:
    """A zone with its countries and methods; ``Conflict`` if a country is in another zone."""
    zone_id = await shipping_repo.add_zone(session, data.name)
    await _claim(session, zone_id, data.countries)
    for method in data.methods:
        await _add_method(session, zone_id, method)
    return await _get(session, zone_id)


async def _add_method(session: AsyncSession, zone_id: int, method: ShippingMethodCreate) -> None:
    await shipping_repo.add_method(
        session, zone_id, name=method.name, price=method.price, free_over=method.free_over
    )


async def get_zone(session: AsyncSession, zone_id: int) -> ShippingZone:
    return await _get(session, zone_id)


async def list_zones(
    session: AsyncSession, page: PageRequest
) -> tuple[list[ShippingZone], str | None]:
    return await shipping_repo.page_zones(session, page)


async def update_zone(
    session: AsyncSession, zone_id: int, data: ShippingZoneUpdate
) -> ShippingZone:
    """Rename, replace the countries, replace the methods (methods keep their ids)."""
    if not await shipping_repo.rename_zone(session, zone_id, data.name):
        raise NotFound(f"Shipping zone {zone_id} not found")
    if data.countries is not None:
        await shipping_repo.release_countries(session, zone_id)
        await _claim(session, zone_id, data.countries)
    if data.methods is not None:
        kept = [method.id for method in data.methods if method.id is not None]
        if len(set(kept)) != len(kept):
            raise InvalidInput("methods: a method id is listed twice")
        await shipping_repo.delete_methods_except(session, zone_id, kept)
        for method in data.methods:
            if method.id is None:
                await _add_method(session, zone_id, method)
            elif not await shipping_repo.update_method(
                session,
                zone_id,
                method.id,
                name=method.name,
                price=method.price,
                free_over=method.free_over,
            ):
                raise InvalidInput(f"methods: zone {zone_id} has no method {method.id}")
    return await _get(session, zone_id)


async def delete_zone(session: AsyncSession, zone_id: int) -> None:
    """Remove a zone and its methods; carts that had chosen one have no method then."""
    if not await shipping_repo.delete_zone(session, zone_id):
        raise NotFound(f"Shipping zone {zone_id} not found")


async def options_for(session: AsyncSession, country: str | None) -> list[ShippingMethod]:
    """The methods that ship to ``country``; none without a country."""
    if country is None:
        return []
    return await shipping_repo.methods_for_country(session, country)


async def method_for(
    session: AsyncSession, method_id: int | None, country: str | None
) -> ShippingMethod | None:
    """The chosen method if it (still) ships to ``country``."""
    if method_id is None or country is None:
        return None
    return await shipping_repo.method_for_country(session, method_id, country)
