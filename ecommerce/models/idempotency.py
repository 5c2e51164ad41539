from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column


class IdempotencyKey(Base):
    """One Idempotency-Key of one user: its request fingerprint and, once done, its answer.

    ``response_status`` is NULL until an answer worth replaying is stored; ``locked_at``
    is set while a request holds the key. ``order_id`` links the order the key created, so
    no retry or take-over can ever create a second one.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_id_key"),
        Index("ix_idempotency_key_created_at", "created_at"),
        # A guest (no user) has keys scoped to the cart being checked out.
        Index(
            "uq_idempotency_key_cart_id_key",
            "cart_id",
            "key",
            unique=True,
            postgresql_where=text("user_id IS NULL"),
        ),
        CheckConstraint("user_id IS NOT NULL OR cart_id IS NOT NULL", name="has_scope"),
    )

    id: Mapped[int] = id_column()
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    cart_id: Mapped[str | None] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(SmallInteger)
    # json, not jsonb: jsonb reorders keys, and a replay must be the same body, byte for byte.
    response_body: Mapped[Any | None] = mapped_column(JSON)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("order.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
