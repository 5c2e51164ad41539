"""What a list request asks for: ``limit`` and an opaque cursor (ascending id).

Here, below both api/ and repositories/, so the request side (query parameters) and
the SQL side (keyset pages in ``repositories/pagination.py``) share one definition.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass

from ecommerce.core.errors import InvalidInput
from ecommerce.core.ids import MAX_ID

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_CURSOR_PREFIX = "id:"


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
