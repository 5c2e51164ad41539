from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column


class User(Base):
    __tablename__ = "user"
    __table_args__ = (
        # Uniqueness is the database's job, case-insensitively: a check in Python races.
        Index("uq_user_email_lower", text("lower(email)"), unique=True),
    )

    id: Mapped[int] = id_column()
    email: Mapped[str] = mapped_column(String(320))
    hashed_password: Mapped[str] = mapped_column(String(255))
    full_name: Mapped[str | None] = mapped_column(String(200))
    is_admin: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Bumped by every password change or reset: tokens carry the version they were issued
    # under, and an older one is refused (revocation without a token blocklist).
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = created_at_column()
