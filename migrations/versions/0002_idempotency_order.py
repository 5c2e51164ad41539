"""link an idempotency key to the order it created

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("idempotency_key", sa.Column("order_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_idempotency_key_order_id_order"),
        "idempotency_key",
        "order",
        ["order_id"],
        ["id"],
        ondelete="SET NULL",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_idempotency_key_order_id_order"), "idempotency_key", type_="foreignkey"
    )
    op.drop_column("idempotency_key", "order_id")
