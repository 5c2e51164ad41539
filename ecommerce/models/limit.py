from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base


class LimitCounter(Base):
    """Events counted for one subject of one limit within a fixed window.

    ``key`` is ``<limit>:<subject>`` (``login:ada@example.com``, ``decline:42``). The row is
    reset in place when its window has passed, so a subject has at most one row.
    """

    __tablename__ = "limit_counter"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    hits: Mapped[int]
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
