"""The launcher reads the database's max_connections for its pool check."""

from __future__ import annotations

from ecommerce.launcher import database_max_connections


def test_max_connections_is_read_from_the_database(database_url: str) -> None:
    assert database_max_connections(database_url) >= 10
