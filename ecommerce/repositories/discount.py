"""SQL for discount codes and their uses.

Codes are unique case-insensitively (the unique index on ``lower(code)``). A use is taken
by a conditional UPDATE: concurrent takers queue on the discount's row lock and each one
re-checks ``times_used < usage_limit`` on the row as the previous one left it, so at most
``usage_limit`` uses exist, however many checkouts race.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import Discount, DiscountUse

_CODE_KEY = [func.lower(Discount.code)]


async def insert_discount(session: AsyncSession, **values: Any) -> Discount | None:
    """Insert a code; ``None`` when the code exists already (in any case)."""
    statement = (
        insert(Discount)
        .values(**values)
        .on_conflict_do_nothing(index_elements=_CODE_KEY)
        .returning(Discount)
    )
    return (await session.scalars(statement)).one_or_none()


async def get_discount(session: AsyncSession, discount_id: int) -> Discount | None:
    return await session.get(Discount, discount_id, populate_existing=True)


async def find_by_code(session: AsyncSession, code: str) -> Discount | None:
    """The discount of ``code``, whatever its case (served by the lower(code) index)."""
    statement = (
        select(Discount)
        .where(func.lower(Discount.code) == code.lower())
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


def list_statement() -> Select[Discount]:
    return select(Discount)


async def code_taken(session: AsyncSession, code: str, *, other_than: int) -> bool:
    statement = select(Discount.id).where(
        func.lower(Discount.code) == code.lower(), Discount.id != other_than
    )
    return (await session.scalar(statement)) is not None


async def update_discount(
    session: AsyncSession, discount_id: int, changes: dict[str, Any]
) -> Discount | None:
    statement = (
        update(Discount)
        .where(Discount.id == discount_id)
        .values(**changes, updated_at=func.now())
        .returning(Discount)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def customer_uses(session: AsyncSession, discount_id: int, customer: str) -> int:
    statement = select(func.count()).where(
        DiscountUse.discount_id == discount_id, DiscountUse.customer == customer
    )
    return int(await session.scalar(statement) or 0)


async def take_use(session: AsyncSession, discount_id: int) -> bool:
    """Count one more use if the code is still active and not used up; ``False`` otherwise.

    The UPDATE locks the discount row until the transaction ends, so every other taker of
    this code waits here: what this transaction reads next about the code's uses (its
    per-customer count) cannot change under it.
    """
    statement = (
        update(Discount)
        .where(
            Discount.id == discount_id,
            Discount.is_active.is_(True),
            or_(Discount.usage_limit.is_(None), Discount.times_used < Discount.usage_limit),
        )
        .values(times_used=Discount.times_used + 1)
        .returning(Discount.id)
    )
    return (await session.execute(statement)).first() is not None


async def record_use(
    session: AsyncSession,
    *,
    discount_id: int,
    order_id: int,
    user_id: int | None,
    customer: str,
    per_customer_limit: int | None,
) -> bool:
    """Insert the order's use unless the customer has used the code ``per_customer_limit`` times.

    Run after :func:`take_use` in the same transaction: the discount row lock it holds
    serialises every taker, and this statement's fresh snapshot (READ COMMITTED) sees
    every use committed before the lock was granted, so the count is exact.
    """
    values = select(
        literal(discount_id),
        literal(order_id),
        literal(user_id),
        literal(customer),
    )
    if per_customer_limit is not None:
        used = (
            select(func.count())
            .where(DiscountUse.discount_id == discount_id, DiscountUse.customer == customer)
            .scalar_subquery()
        )
        values = values.where(used < per_customer_limit)
    statement = (
        insert(DiscountUse)
        .from_select(["discount_id", "order_id", "user_id", "customer"], values)
        .returning(DiscountUse.id)
    )
    return (await session.execute(statement)).first() is not None


async def give_back(session: AsyncSession, order_id: int) -> int | None:
    """Give the order's use back: the code it used, or ``None`` when it has none (any more).

    Deleting the use row is the claim: of any number of concurrent give-backs of one
    order, exactly one deletes it and decrements ``times_used``; the others find no row.
    """
    gone = (
        delete(DiscountUse)
        .where(DiscountUse.order_id == order_id)
        .returning(DiscountUse.discount_id)
        .cte("gone")
    )
    statement = (
        update(Discount)
        .where(Discount.id == gone.c.discount_id)
        .values(times_used=Discount.times_used - 1)
        .returning(Discount.id)
        # Plain SQL: the ORM's session synchronisation does not follow a DELETE in a CTE.
        .execution_options(synchronize_session=False)
    )
    discount_id: int | None = (await session.execute(statement)).scalar_one_or_none()
    return discount_id
