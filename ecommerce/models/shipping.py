from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ecommerce.models.base import Base, created_at_column, id_column, updated_at_column


class ShippingZone(Base):
    """A set of destination countries served by the same shipping methods."""

    __tablename__ = "shipping_zone"

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    countries: Mapped[list[ShippingZoneCountry]] = relationship(
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ShippingZoneCountry.country",
        passive_deletes=True,
    )
    methods: Mapped[list[ShippingMethod]] = relationship(
        back_populates="zone",
        lazy="raise",
        cascade="all, delete-orphan",
        order_by="ShippingMethod.id",
        passive_deletes=True,
    )


class ShippingZoneCountry(Base):
    # The primary key on the country alone is the rule "a country is in at most one
    # zone", enforced by the database even when two admins add it at once.
    __tablename__ = "shipping_zone_country"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zone.id", ondelete="CASCADE"), index=True
    )


class ShippingMethod(Base):
    """A flat price, free once the discounted subtotal reaches ``free_over``."""

    __tablename__ = "shipping_method"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_non_negative"),
        CheckConstraint("free_over IS NULL OR free_over >= 0", name="free_over_non_negative"),
    )

    id: Mapped[int] = id_column()
    zone_id: Mapped[int] = mapped_column(
        ForeignKey("shipping_zone.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    price: Mapped[int] = mapped_column(BigInteger)
    free_over: Mapped[int | None] = mapped_column(BigInteger)

    zone: Mapped[ShippingZone] = relationship(back_populates="methods", lazy="raise")
