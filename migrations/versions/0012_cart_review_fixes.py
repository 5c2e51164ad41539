"""review fixes of carts and tax: per-customer uses by account, no cascade onto carts

A signed-in buyer's uses of a code are counted by account (``user:<id>``), a guest's by
e-mail: the uses recorded so far with a user are re-keyed so they keep counting.

A cart's shipping method has no foreign key any more: deleting a zone or a method wrote
carts (SET NULL) without a new version, locking them after the method's row, the
opposite order of a cart write. A cart whose method is gone shows none.

Orders keep the tax on shipping (``shipping_tax``), so the lines' tax and it add up to
``tax_total``; orders placed before get what their lines leave of the total.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE discount_use SET customer = 'user:' || user_id::text WHERE user_id IS NOT NULL"
    )
    op.drop_index(op.f("ix_cart_shipping_method_id"), table_name="cart")
    op.add_column(
        "order", sa.Column("shipping_tax", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.execute(
        'UPDATE "order" AS o SET shipping_tax = o.tax_total - lines.tax FROM '
        "(SELECT order_id, sum(tax_amount) AS tax FROM order_line GROUP BY order_id) AS lines "
        "WHERE lines.order_id = o.id AND o.tax_total <> lines.tax"
    )
    op.drop_constraint(
        op.f("fk_cart_shipping_method_id_shipping_method"), "cart", type_="foreignkey"
    )


def downgrade() -> None:
    op.drop_column("order", "shipping_tax")
    op.execute(
        "UPDATE cart SET shipping_method_id = NULL WHERE shipping_method_id IS NOT NULL "
        "AND shipping_method_id NOT IN (SELECT id FROM shipping_method)"
    )
    op.create_foreign_key(
        op.f("fk_cart_shipping_method_id_shipping_method"),
        "cart",
        "shipping_method",
        ["shipping_method_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_index(op.f("ix_cart_shipping_method_id"), "cart", ["shipping_method_id"])
    op.execute(
        'UPDATE discount_use AS u SET customer = lower(trim(o.email)) FROM "order" AS o '
        "WHERE o.id = u.order_id AND u.customer LIKE 'user:%' AND o.email IS NOT NULL"
    )
