"""Order events and their webhook deliveries.

An event is written in the same transaction as the order change it records; its
deliveries (one per subscribed endpoint) and their jobs are written with it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSON
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class EventType(enum.StrEnum):
    ORDER_CREATED = "order.created"
    ORDER_PAID = "order.paid"
    ORDER_PAYMENT_FAILED = "order.payment_failed"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_SHIPPED = "order.shipped"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Event(Base):
    __tablename__ = "event"

    # "evt_" + 32 hex digits: the Standard Webhooks `webhook-id` of every delivery.
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Commit-independent order of events: one order's deliveries follow it.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # The whole event as delivered: {"id", "type", "created_at", "data"}. JSON, not
    # JSONB: its keys stay in this order in every delivery.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = created_at_column()


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = id_column()
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    # Needed in clear to sign every delivery; shown to the admin only once.
    secret: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        # "Is an earlier event of this order still on its way to this endpoint?"
        Index("ix_webhook_delivery_endpoint_order_seq", "endpoint_id", "order_id", "event_seq"),
        Index(
            "ix_webhook_delivery_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where="status = 'pending'",
        ),
    )

    id: Mapped[int] = id_column()
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    event_seq: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    # Attempts allowed before the delivery fails (NULL: ECOMMERCE_WEBHOOK_MAX_ATTEMPTS);
    # a manual retry grants a new series.
    attempt_limit: Mapped[int | None]
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A consumer holds the delivery until then: two jobs never send it at once.
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
