"""SQL for shipping zones, their countries and methods."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from ecommerce.core.paging import PageRequest
from ecommerce.models import ShippingMethod, ShippingZone, ShippingZoneCountry
from ecommerce.repositories.pagination import paginate


def _zones() -> Select[ShippingZone]:
    return select(ShippingZone).options(
        selectinload(ShippingZone.countries), selectinload(ShippingZone.methods)
    )


async def add_zone(session: AsyncSession, name: str) -> int:
    zone = ShippingZone(name=name)
    session.add(zone)
    await session.flush()
    return zone.id


async def get_zone(session: AsyncSession, zone_id: int) -> ShippingZone | None:
    result = await session.execute(
        _zones().where(ShippingZone.id == zone_id).execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def page_zones(
    session: AsyncSession, page: PageRequest
) -> tuple[list[ShippingZone], str | None]:
    return await paginate(session, _zones(), page, key=ShippingZone.id)


async def rename_zone(session: AsyncSession, zone_id: int, name: str | None) -> bool:
    """Set the name (if given) and ``updated_at``; False when the zone does not exist."""
    values: dict[str, object] = {"updated_at": func.now()}
    if name is not None:
        values["name"] = name
    result = await session.execute(
        update(ShippingZone)
        .where(ShippingZone.id == zone_id)
        .values(**values)
        .returning(ShippingZone.id)
    )
    return result.scalar_one_or_none() is not None


async def delete_zone(session: AsyncSession, zone_id: int) -> bool:
    result = await session.execute(
        delete(ShippingZone).where(ShippingZone.id == zone_id).returning(ShippingZone.id)
    )
    return result.scalar_one_or_none() is not None


async def claim_countries(
    session: AsyncSession, zone_id: int, countries: Sequence[str]
) -> set[str]:
    """Put the countries in the zone; returns those another zone has (nothing is added then
    for them: the caller rolls back). The primary key on the country arbitrates races."""
    if not countries:
        return set()
    result = await session.execute(
        insert(ShippingZoneCountry)
        .values([{"country": country, "zone_id": zone_id} for country in countries])
        .on_conflict_do_nothing(index_elements=[ShippingZoneCountry.country])
        .returning(ShippingZoneCountry.country)
    )
    return set(countries) - set(result.scalars())


async def release_countries(session: AsyncSession, zone_id: int) -> None:
    await session.execute(delete(ShippingZoneCountry).where(ShippingZoneCountry.zone_id == zone_id))


async def owners(session: AsyncSession, countries: Sequence[str]) -> dict[str, int]:
    """Which zone each of these countries belongs to."""
    rows = await session.execute(
        select(ShippingZoneCountry.country, ShippingZoneCountry.zone_id).where(
            ShippingZoneCountry.country.in_(list(countries))
        )
    )
    return {str(country): int(zone_id) for country, zone_id in rows}


async def add_method(
    session: AsyncSession, zone_id: int, *, name: str, price: int, free_over: int | None
) -> None:
    session.add(ShippingMethod(zone_id=zone_id, name=name, price=price, free_over=free_over))
    await session.flush()


async def update_method(
    session: AsyncSession,
    zone_id: int,
    method_id: int,
    *,
    name: str,
    price: int,
    free_over: int | None,
) -> bool:
    """Change one of the zone's methods; False when the zone has no such method."""
    result = await session.execute(
        update(ShippingMethod)
        .where(ShippingMethod.id == method_id, ShippingMethod.zone_id == zone_id)
        .values(name=name, price=price, free_over=free_over)
        .returning(ShippingMethod.id)
    )
    return result.scalar_one_or_none() is not None


async def delete_methods_except(session: AsyncSession, zone_id: int, keep: Sequence[int]) -> None:
    await session.execute(
        delete(ShippingMethod).where(
            ShippingMethod.zone_id == zone_id, ShippingMethod.id.not_in(list(keep))
        )
    )


async def methods_for_country(session: AsyncSession, country: str) -> list[ShippingMethod]:
    """The methods of the zone that covers ``country`` (none when no zone does)."""
    result = await session.scalars(
        select(ShippingMethod)
        .join(ShippingZoneCountry, ShippingZoneCountry.zone_id == ShippingMethod.zone_id)
        .where(ShippingZoneCountry.country == country)
        .order_by(ShippingMethod.id)
    )
    return list(result)


async def method_for_country(
    session: AsyncSession, method_id: int, country: str
) -> ShippingMethod | None:
    """The method if the zone it belongs to covers ``country``; else None."""
    result = await session.scalars(
        select(ShippingMethod)
        .join(ShippingZoneCountry, ShippingZoneCountry.zone_id == ShippingMethod.zone_id)
        .where(ShippingMethod.id == method_id, ShippingZoneCountry.country == country)
    )
    return result.one_or_none()
