"""Cursor pagination shared by every list: ascending id, ``limit``, opaque cursor.

A page is ``WHERE id > :after ORDER BY id LIMIT :limit + 1``: the extra row tells whether
another page exists without a ``count(*)``, and keyset paging stays fast and stable
(no gap, no repeat) while rows are inserted, however deep the client pages.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from ecommerce.core.errors import InvalidInput
from ecommerce.models.base import MAX_ID

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_CURSOR_PREFIX = "id:"


class HasId(Protocol):
    @property
    def id(self) -> int: ...


RowT = TypeVar("RowT", bound=HasId)


@dataclass(frozen=True)
class PageRequest:
    """What the client asked for: at most ``limit`` rows after the id ``after``."""

    limit: int = DEFAULT_LIMIT
    after: int | None = None

    @classmethod
    def from_cursor(cls, limit: int, cursor: str | None) -> PageRequest:
        return cls(limit=limit, after=decode_cursor(cursor) if cursor else None)


def encode_cursor(last_id: int) -> str:
    """An opaque cursor for the rows after ``last_id``."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The id a cursor stands for; anything not made by ``encode_cursor`` is 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("Invalid cursor") from None
    digits = raw.removeprefix(_CURSOR_PREFIX)
    if raw.startswith(_CURSOR_PREFIX) and digits.isascii() and digits.isdigit():
        with contextlib.suppress(ValueError):  # absurdly long digit strings
            last_id = int(digits)
            if last_id <= MAX_ID:
                return last_id
    raise InvalidInput("Invalid cursor")


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
