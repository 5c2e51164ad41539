from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class TaxRate(Base):
    """The tax rate of one destination country, in basis points (1900 is 19 %)."""

    __tablename__ = "tax_rate"
    __table_args__ = (CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_bps_range"),)

    id: Mapped[int] = id_column()
    country: Mapped[str] = mapped_column(String(2), unique=True)  # ISO 3166-1 alpha-2
    rate_bps: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()
