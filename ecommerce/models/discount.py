from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class DiscountKind(enum.StrEnum):
    PERCENT = "percent"  # value in basis points, at most 10000
    FIXED = "fixed"  # value in minor units, capped at the subtotal


class Discount(Base):
    """A discount code. ``times_used`` moves only by conditional updates (see repositories)."""

    __tablename__ = "discount"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint("value >= 0", name="value_non_negative"),
        CheckConstraint("kind <> 'percent' OR value <= 10000", name="percent_at_most_whole"),
        CheckConstraint("min_subtotal >= 0", name="min_subtotal_non_negative"),
        CheckConstraint("usage_limit IS NULL OR usage_limit >= 1", name="usage_limit_positive"),
        CheckConstraint(
            "per_customer_limit IS NULL OR per_customer_limit >= 1",
            name="per_customer_limit_positive",
        ),
        CheckConstraint("times_used >= 0", name="times_used_non_negative"),
        CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR ends_at > starts_at", name="window_ordered"
        ),
        # Codes are case-insensitive: SUMMER10 and summer10 are one code. The code keeps the
        # spelling the admin gave; the index arbitrates duplicates (ON CONFLICT on it).
        Index("uq_discount_lower_code", text("lower(code)"), unique=True),
    )

    id: Mapped[int] = id_column()
    code: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(BigInteger)
    min_subtotal: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    usage_limit: Mapped[int | None]
    per_customer_limit: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    times_used: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class DiscountUse(Base):
    """One order's use of a code: taken with the order, deleted when the use is given back.

    ``order_id`` is unique (one code per order), so giving a use back is a DELETE that
    only one caller can win: a use comes back exactly once. ``customer`` (the order's
    e-mail, lower-cased) is what ``per_customer_limit`` counts.
    """

    __tablename__ = "discount_use"
    __table_args__ = (Index("ix_discount_use_discount_id_customer", "discount_id", "customer"),)

    id: Mapped[int] = id_column()
    discount_id: Mapped[int] = mapped_column(ForeignKey("discount.id", ondelete="RESTRICT"))
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    customer: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = created_at_column()
