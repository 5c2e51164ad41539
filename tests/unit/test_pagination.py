"""The listing cursor codec (its HTTP side, invalid cursors answering 422, is in
tests/integration/test_catalog_listing.py)."""

from __future__ import annotations

from ecommerce.core.paging import decode_cursor, encode_cursor


def test_cursor_round_trip() -> None:
    for value in (0, 1, 20, 2**63 - 1):
        assert decode_cursor(encode_cursor(value)) == value
