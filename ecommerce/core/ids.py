"""Bounds of the ids every table uses (PostgreSQL ``bigint``)."""

from __future__ import annotations

# An id above this is a 422 at the edge, never a database error.
MAX_ID = 2**63 - 1
