"""index the orders the reconciler claims, by updated_at

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 23:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLING = "status = 'pending' OR payment_status = 'refund_pending'"


def upgrade() -> None:
    # The reconciler's claims filter and sort on updated_at, for pending orders and for
    # refunds under way; the old index (created_at, pending only) served neither.
    op.drop_index("ix_order_pending_created_at", table_name="order")
    op.create_index(
        "ix_order_settling_updated_at",
        "order",
        ["updated_at"],
        postgresql_where=sa.text(SETTLING),
    )


def downgrade() -> None:
    op.drop_index("ix_order_settling_updated_at", table_name="order")
    op.create_index(
        "ix_order_pending_created_at",
        "order",
        ["created_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
