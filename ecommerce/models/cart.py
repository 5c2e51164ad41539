from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column

# token_urlsafe(24): 32 characters, 192 random bits.
CART_ID_LENGTH = 32


class Cart(Base):
    """A shopping cart: lines, contact, addresses, a shipping method; it reserves nothing.

    Whether it is completed is not stored: it is when its ``order_id`` names an order that
    did not fail, so a payment settled later by the reconciler (paid or failed) completes
    or reopens the cart with no extra write. Every write locks the row and bumps
    ``version`` (the ETag); ``updated_at`` is its last write, from which it expires.
    """

    __tablename__ = "cart"
    __table_args__ = (
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_cart_updated_at", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(CART_ID_LENGTH), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    currency: Mapped[str] = mapped_column(String(3))
    email: Mapped[str | None] = mapped_column(String(320))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    shipping_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("shipping_method.id", ondelete="SET NULL"), index=True
    )
    discount_code: Mapped[str | None] = mapped_column(String(64))
    order_id: Mapped[int | None] = mapped_column(
        ForeignKey("order.id", ondelete="SET NULL"), index=True
    )
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class CartLine(Base):
    __tablename__ = "cart_line"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id", name="uq_cart_line_cart_id_product_id"),
        CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
    )

    id: Mapped[int] = id_column()
    cart_id: Mapped[str] = mapped_column(ForeignKey("cart.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="CASCADE"), index=True
    )
    quantity: Mapped[int]
    created_at: Mapped[datetime] = created_at_column()
