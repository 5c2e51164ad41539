"""Keyset pages for every list: ascending id, ``limit``, opaque cursor (core/paging.py).

A page is ``WHERE id > :after ORDER BY id LIMIT :limit + 1``: the extra row tells whether
another page exists without a ``count(*)``, and keyset paging stays fast and stable
(no gap, no repeat) while rows are inserted, however deep the client pages.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ecommerce.core.paging import PageRequest, encode_cursor


class HasId(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=HasId)


def _id_column(statement: Select[Any]) -> InstrumentedAttribute[int]:
    entity = statement.column_descriptions[0]["entity"]
    if entity is None or not hasattr(entity, "id"):
        raise TypeError("paginate() needs a select of an entity with an `id` column")
    column: InstrumentedAttribute[int] = entity.id
    return column


def page_statement(
    statement: Select[RowT],
    page: PageRequest,
    key: InstrumentedAttribute[int] | None = None,
) -> Select[RowT]:
    """``statement`` restricted to one page (one row more than asked, see ``paginate``)."""
    column = key if key is not None else _id_column(statement)
    if page.after is not None:
        statement = statement.where(column > page.after)
    return statement.order_by(column).limit(page.limit + 1)


async def paginate(
    session: AsyncSession,
    statement: Select[RowT],
    page: PageRequest,
    key: InstrumentedAttribute[int] | None = None,
) -> tuple[list[RowT], str | None]:
    """One page of ``statement`` (a select of one entity) and the cursor of the next.

    ``key`` is the entity's id column, found from the statement when not given. The
    statement must not be ordered already: pages follow ascending id.
    """
    rows = list((await session.scalars(page_statement(statement, page, key))).all())
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None
