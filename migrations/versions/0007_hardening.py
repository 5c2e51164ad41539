"""hardening: token versions for revocation, windowed limit counters

- ``user.token_version``: every access token carries the version it was issued under;
  a password change or reset bumps it, so every older token is refused at once.
- ``limit_counter``: one row per (limit, subject) window; sign-in failures, declined
  cards and optional per-client limits count there with one ``INSERT ... ON CONFLICT DO
  UPDATE`` per event, so they hold across every worker and instance.

Revision ID: 0007
Revises: 0011
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0011"  # re-chained after main's 0005, 0006, 0011
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "user",
        sa.Column("token_version", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_table(
        "limit_counter",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_limit_counter")),
    )
    # Purging expired windows walks this index, never the whole table.
    op.create_index(op.f("ix_limit_counter_expires_at"), "limit_counter", ["expires_at"])
    # Late-charge re-checks of failed orders, and refunds owed by failed orders.
    op.add_column("order", sa.Column("recheck_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("order", sa.Column("rechecks", sa.Integer(), server_default="0", nullable=False))
    op.create_index(
        "ix_order_recheck_at",
        "order",
        ["recheck_at"],
        postgresql_where=sa.text("recheck_at IS NOT NULL"),
    )
    op.create_index(
        "ix_order_refund_due_updated_at",
        "order",
        ["updated_at"],
        postgresql_where=sa.text("payment_status = 'refund_due'"),
    )


def downgrade() -> None:
    op.drop_index("ix_order_refund_due_updated_at", table_name="order")
    op.drop_index("ix_order_recheck_at", table_name="order")
    op.drop_column("order", "rechecks")
    op.drop_column("order", "recheck_at")
    op.drop_index(op.f("ix_limit_counter_expires_at"), table_name="limit_counter")
    op.drop_table("limit_counter")
    op.drop_column("user", "token_version")
