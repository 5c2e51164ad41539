from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    String,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class PaymentStatus(enum.StrEnum):
    """What we know of the money; NULL while the charge's outcome is unknown."""

    UNKNOWN = "unknown"  # the checkout answered 502/503/504: the reconciler will settle it
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    NOT_CHARGED = "not_charged"  # the reconciler found no charge for an unknown outcome
    REFUND_PENDING = "refund_pending"  # a cancel started; the refund will be completed
    REFUNDED = "refunded"
    # The charge call is being sent: the order was still pending a moment ago (a settled
    # order is never charged), and the reconciler's grace counts from this mark.
    CHARGING = "charging"
    # A failed order holds money (a charge recorded late, or a 2xx charge that did not
    # match the order): the reconciler refunds it until the gateway says it is done.
    REFUND_DUE = "refund_due"
    # The gateway refused that refund for good: a person must look (alerted on).
    REFUND_REFUSED = "refund_refused"


class Order(Base):
    __tablename__ = "order"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'paid', 'payment_failed', 'shipped', 'cancelled')",
            name="status_known",
        ),
        CheckConstraint("total >= 0", name="total_non_negative"),
        Index("ix_order_user_id_id", "user_id", "id"),
        # The reconciler's claims read only the few orders being settled.
        Index(
            "ix_order_settling_updated_at",
            "updated_at",
            postgresql_where=text("status = 'pending' OR payment_status = 'refund_pending'"),
        ),
        Index("ix_order_status_created_at", "status", "created_at"),
        Index(
            "ix_order_refund_due_updated_at",
            "updated_at",
            postgresql_where=text("payment_status = 'refund_due'"),
        ),
        # Failed orders whose charge is looked for again (a gateway may record it late).
        Index("ix_order_recheck_at", "recheck_at", postgresql_where=text("recheck_at IS NOT NULL")),
    )

    id: Mapped[int] = id_column()
    # NULL for a guest's order (placed from a guest cart).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING)
    total: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # The snapshot taken when the order was placed: later changes to the catalog, the
    # zones, the rates or the customer's addresses never change an order.
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    shipping_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    email: Mapped[str | None] = mapped_column(String(320))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The method's name and price as they were; NULL when the order is not shipped.
    shipping_method: Mapped[str | None] = mapped_column(String(100))
    shipping_price: Mapped[int | None] = mapped_column(BigInteger)
    discount_code: Mapped[str | None] = mapped_column(String(64))
    # The gateway's idempotency keys derive from this, never from the id, so a charge
    # can never be mistaken for another order's (ids restart when a database is rebuilt).
    payment_key: Mapped[uuid.UUID] = mapped_column(
        Uuid, unique=True, default=uuid.uuid4, server_default=text("gen_random_uuid()")
    )
    charge_id: Mapped[str | None] = mapped_column(String(255))
    payment_status: Mapped[str | None] = mapped_column(String(32))
    refund_id: Mapped[str | None] = mapped_column(String(255))
    # Late-charge re-checks of a failed order: when the next is due and how many were made.
    recheck_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rechecks: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    items: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderLine.id"
    )


class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (
        CheckConstraint("quantity BETWEEN 1 AND 1000", name="quantity_range"),
        CheckConstraint("unit_price >= 0", name="unit_price_non_negative"),
    )

    id: Mapped[int] = id_column()
    order_id: Mapped[int] = mapped_column(ForeignKey("order.id", ondelete="CASCADE"), index=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("product.id", ondelete="RESTRICT"), index=True
    )
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int]
    line_total: Mapped[int] = mapped_column(BigInteger)
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    order: Mapped[Order] = relationship(back_populates="items", lazy="raise")
