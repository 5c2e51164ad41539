"""Password-reset tokens: single use, time-bound, only their hash stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column


class PasswordResetToken(Base):
    __tablename__ = "password_reset_token"

    id: Mapped[int] = id_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the token: a leaked table gives no usable token.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
