"""Outgoing e-mail: one row per message, the marker that it is sent exactly once."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class EmailKind(enum.StrEnum):
    ORDER_CONFIRMATION = "order_confirmation"
    SHIPPING_NOTICE = "shipping_notice"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a template name, not a secret


class EmailStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class EmailMessage(Base):
    __tablename__ = "email_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index(
            "ix_email_message_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where="status = 'pending'",
        ),
    )

    id: Mapped[int] = id_column()
    # The left part of the RFC 5322 Message-ID (the right one is the sender's domain),
    # fixed when the row is written: every retry sends the same Message-ID.
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(320))
    # What the template needs (the order as after the change, a reset link, ...).
    context: Mapped[dict[str, Any]] = mapped_column(JSONB)
    order_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(20), default=EmailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
