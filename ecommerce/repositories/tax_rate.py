"""SQL for tax rates: one row per country, set by upsert."""

from __future__ import annotations

from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import TaxRate


async def upsert(session: AsyncSession, country: str, rate_bps: int, name: str | None) -> TaxRate:
    """Set the country's rate in one statement, whoever else sets it concurrently."""
    statement = (
        insert(TaxRate)
        .values(country=country, rate_bps=rate_bps, name=name)
        .on_conflict_do_update(
            index_elements=[TaxRate.country],
            set_={"rate_bps": rate_bps, "name": name, "updated_at": func.now()},
        )
        .returning(TaxRate)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one()


def list_statement() -> Select[TaxRate]:
    return select(TaxRate)


async def remove(session: AsyncSession, country: str) -> bool:
    """Delete the country's rate; ``False`` when it had none."""
    result = await session.execute(
        delete(TaxRate).where(TaxRate.country == country).returning(TaxRate.id)
    )
    return result.first() is not None


async def insert_missing(session: AsyncSession, rows: list[dict[str, object]]) -> int:
    """Insert the rates of countries that have none yet; existing rates stay untouched."""
    if not rows:
        return 0
    statement = (
        insert(TaxRate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[TaxRate.country])
        .returning(TaxRate.id)
    )
    return len((await session.scalars(statement)).all())
