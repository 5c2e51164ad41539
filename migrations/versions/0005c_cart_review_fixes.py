"""review fixes of carts and tax: per-customer uses by account

A signed-in buyer's uses of a code are counted by account (``user:<id>``), a guest's by
e-mail: the uses recorded so far with a user are re-keyed so they keep counting.

Revision ID: 0005c
Revises: 0006
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005c"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE discount_use SET customer = 'user:' || user_id::text WHERE user_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        'UPDATE discount_use AS u SET customer = lower(trim(o.email)) FROM "order" AS o '
        "WHERE o.id = u.order_id AND u.customer LIKE 'user:%' AND o.email IS NOT NULL"
    )
