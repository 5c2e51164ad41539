"""carts, shipping zones and the order snapshot (addresses, shipping, totals)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOW = sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "shipping_zone",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_zone")),
    )
    op.create_table(
        "shipping_zone_country",
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zone.id"],
            name=op.f("fk_shipping_zone_country_zone_id_shipping_zone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("country", name=op.f("pk_shipping_zone_country")),
    )
    op.create_index(op.f("ix_shipping_zone_country_zone_id"), "shipping_zone_country", ["zone_id"])
    op.create_table(
        "shipping_method",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("free_over", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("price >= 0", name=op.f("ck_shipping_method_price_non_negative")),
        sa.CheckConstraint(
            "free_over IS NULL OR free_over >= 0",
            name=op.f("ck_shipping_method_free_over_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["shipping_zone.id"],
            name=op.f("fk_shipping_method_zone_id_shipping_zone"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipping_method")),
    )
    op.create_index(op.f("ix_shipping_method_zone_id"), "shipping_method", ["zone_id"])

    op.create_table(
        "cart",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("billing_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("shipping_method_id", sa.BigInteger(), nullable=True),
        sa.Column("discount_code", sa.String(length=64), nullable=True),
        sa.Column("order_id", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_cart_version_positive")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_cart_user_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["shipping_method_id"],
            ["shipping_method.id"],
            name=op.f("fk_cart_shipping_method_id_shipping_method"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["order.id"], name=op.f("fk_cart_order_id_order"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart")),
    )
    op.create_index(op.f("ix_cart_user_id"), "cart", ["user_id"])
    op.create_index(op.f("ix_cart_shipping_method_id"), "cart", ["shipping_method_id"])
    op.create_index(op.f("ix_cart_order_id"), "cart", ["order_id"])
    op.create_index("ix_cart_updated_at", "cart", ["updated_at"])
    op.create_table(
        "cart_line",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("cart_id", sa.String(length=32), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_NOW, nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 1000", name=op.f("ck_cart_line_quantity_range")),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["cart.id"], name=op.f("fk_cart_line_cart_id_cart"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["product.id"],
            name=op.f("fk_cart_line_product_id_product"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cart_line")),
        sa.UniqueConstraint("cart_id", "product_id", name="uq_cart_line_cart_id_product_id"),
    )
    op.create_index(op.f("ix_cart_line_product_id"), "cart_line", ["product_id"])

    # The order snapshot. Orders placed before carts existed had no shipping, discount
    # or tax: their subtotal is their total.
    op.alter_column("order", "user_id", existing_type=sa.BigInteger(), nullable=True)
    for column in ("subtotal", "discount_total", "shipping_total", "tax_total"):
        op.add_column(
            "order", sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
        )
    op.execute('UPDATE "order" SET subtotal = total')
    op.add_column("order", sa.Column("email", sa.String(length=320), nullable=True))
    op.add_column(
        "order",
        sa.Column("shipping_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column(
        "order",
        sa.Column("billing_address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.add_column("order", sa.Column("shipping_method", sa.String(length=100), nullable=True))
    op.add_column("order", sa.Column("shipping_price", sa.BigInteger(), nullable=True))
    op.add_column("order", sa.Column("discount_code", sa.String(length=64), nullable=True))
    for column in ("discount_amount", "tax_amount"):
        op.add_column(
            "order_line", sa.Column(column, sa.BigInteger(), server_default="0", nullable=False)
        )

    # Idempotency keys of guests (no user) are scoped to their cart instead.
    op.alter_column("idempotency_key", "user_id", existing_type=sa.BigInteger(), nullable=True)
    op.add_column("idempotency_key", sa.Column("cart_id", sa.String(length=32), nullable=True))
    op.create_foreign_key(
        op.f("fk_idempotency_key_cart_id_cart"),
        "idempotency_key",
        "cart",
        ["cart_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "uq_idempotency_key_cart_id_key",
        "idempotency_key",
        ["cart_id", "key"],
        unique=True,
        postgresql_where=sa.text("user_id IS NULL"),
    )
    op.create_check_constraint(
        op.f("ck_idempotency_key_has_scope"),
        "idempotency_key",
        "user_id IS NOT NULL OR cart_id IS NOT NULL",
    )


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_key WHERE user_id IS NULL")
    op.drop_constraint(op.f("ck_idempotency_key_has_scope"), "idempotency_key", type_="check")
    op.drop_index("uq_idempotency_key_cart_id_key", table_name="idempotency_key")
    op.drop_constraint(
        op.f("fk_idempotency_key_cart_id_cart"), "idempotency_key", type_="foreignkey"
    )
    op.drop_column("idempotency_key", "cart_id")
    op.alter_column("idempotency_key", "user_id", existing_type=sa.BigInteger(), nullable=False)
    for column in ("tax_amount", "discount_amount"):
        op.drop_column("order_line", column)
    for column in (
        "discount_code",
        "shipping_price",
        "shipping_method",
        "billing_address",
        "shipping_address",
        "email",
        "tax_total",
        "shipping_total",
        "discount_total",
        "subtotal",
    ):
        op.drop_column("order", column)
    op.drop_table("cart_line")
    op.drop_table("cart")
    op.drop_table("shipping_method")
    op.drop_table("shipping_zone_country")
    op.drop_table("shipping_zone")
    # Guest orders cannot survive a schema where every order has a user.
    op.alter_column("order", "user_id", existing_type=sa.BigInteger(), nullable=False)
