"""tax rates per country, discount codes and their uses

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "tax_rate",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("rate_bps BETWEEN 0 AND 10000", name=op.f("ck_tax_rate_rate_bps_range")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rate")),
        sa.UniqueConstraint("country", name=op.f("uq_tax_rate_country")),
    )
    op.create_table(
        "discount",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("min_subtotal", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("per_customer_limit", sa.Integer(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("times_used", sa.Integer(), server_default="0", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("kind IN ('percent', 'fixed')", name=op.f("ck_discount_kind_known")),
        sa.CheckConstraint("value >= 0", name=op.f("ck_discount_value_non_negative")),
        sa.CheckConstraint(
            "kind <> 'percent' OR value <= 10000", name=op.f("ck_discount_percent_at_most_whole")
        ),
        sa.CheckConstraint("min_subtotal >= 0", name=op.f("ck_discount_min_subtotal_non_negative")),
        sa.CheckConstraint(
            "usage_limit IS NULL OR usage_limit >= 1", name=op.f("ck_discount_usage_limit_positive")
        ),
        sa.CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1",
            name=op.f("ck_discount_per_customer_limit_positive"),
        ),
        sa.CheckConstraint("times_used >= 0", name=op.f("ck_discount_times_used_non_negative")),
        sa.CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at",
            name=op.f("ck_discount_window_ordered"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount")),
    )
    op.create_index("uq_discount_lower_code", "discount", [sa.text("lower(code)")], unique=True)
    op.create_table(
        "discount_use",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("discount_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("customer", sa.String(length=320), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.ForeignKeyConstraint(
            ["discount_id"],
            ["discount.id"],
            name=op.f("fk_discount_use_discount_id_discount"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["order.id"],
            name=op.f("fk_discount_use_order_id_order"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_discount_use_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_discount_use")),
        sa.UniqueConstraint("order_id", name=op.f("uq_discount_use_order_id")),
    )
    op.create_index(
        "ix_discount_use_discount_id_customer", "discount_use", ["discount_id", "customer"]
    )


def downgrade() -> None:
    op.drop_index("ix_discount_use_discount_id_customer", table_name="discount_use")
    op.drop_table("discount_use")
    op.drop_index("uq_discount_lower_code", table_name="discount")
    op.drop_table("discount")
    op.drop_table("tax_rate")
