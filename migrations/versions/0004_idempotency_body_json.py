"""store replayed answers as json text, not jsonb

jsonb reorders object keys; a replay must answer the very same body as the first time.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 23:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "idempotency_key",
        "response_body",
        type_=postgresql.JSON(),
        postgresql_using="response_body::text::json",
    )


def downgrade() -> None:
    op.alter_column(
        "idempotency_key",
        "response_body",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        postgresql_using="response_body::jsonb",
    )
