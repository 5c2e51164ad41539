"""Tax rates per destination country, and which country an order ships to."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import TaxRate
from ecommerce.repositories import tax_rate as tax_rate_repo
from ecommerce.repositories.pagination import paginate
from ecommerce.schemas.tax import TaxRateSet, known_country

TAX_RATE_NOT_FOUND = "This country has no tax rate"


def country_code(raw: str) -> str:
    """The ISO 3166-1 alpha-2 code of a path parameter, or ``InvalidInput`` (422)."""
    try:
        return known_country(raw)
    except ValueError as error:
        raise InvalidInput(f"country: {error}") from None


async def set_rate(session: AsyncSession, country: str, data: TaxRateSet) -> TaxRate:
    return await tax_rate_repo.upsert(session, country_code(country), data.rate_bps, data.name)


async def list_rates(session: AsyncSession, page: PageRequest) -> tuple[list[TaxRate], str | None]:
    return await paginate(session, tax_rate_repo.list_statement(), page)


async def delete_rate(session: AsyncSession, country: str) -> None:
    if not await tax_rate_repo.remove(session, country_code(country)):
        raise NotFound(TAX_RATE_NOT_FOUND)
