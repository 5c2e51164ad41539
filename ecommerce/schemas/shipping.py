"""Shipping zones and their methods (admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ecommerce.schemas.address import CountryCode
from ecommerce.schemas.product import MAX_PRICE

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Money = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE, description="Minor units.")]
# A zone may list many countries, but not unboundedly many: there are 249.
Countries = Annotated[list[CountryCode], Field(max_length=300)]


def _distinct(countries: list[str]) -> list[str]:
    if len(set(countries)) != len(countries):
        raise ValueError("lists a country twice")
    return countries


class ShippingMethodCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    price: Money
    free_over: Money | None = Field(
        default=None, description="Free once the discounted subtotal reaches this amount."
    )


class ShippingMethodUpdate(ShippingMethodCreate):
    id: Annotated[int, Field(strict=True, ge=1)] | None = None


class ShippingZoneCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "EU",
                    "countries": ["DE", "FR", "NL"],
                    "methods": [
                        {"name": "Standard", "price": 490, "free_over": 5000},
                        {"name": "Express", "price": 1490},
                    ],
                }
            ]
        },
    )

    name: Name
    countries: Countries = []
    methods: Annotated[list[ShippingMethodCreate], Field(max_length=50)] = []

    _countries_distinct = field_validator("countries")(_distinct)


class ShippingZoneUpdate(BaseModel):
    """Any of these; ``countries`` and ``methods`` replace the zone's whole list.

    A method listed with its ``id`` keeps that id (carts that chose it keep it); one
    without an id is new; a method of the zone left out is removed.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    countries: Countries | None = None
    methods: Annotated[list[ShippingMethodUpdate], Field(max_length=50)] | None = None

    @field_validator("countries")
    @classmethod
    def _countries_distinct(cls, countries: list[str] | None) -> list[str] | None:
        return None if countries is None else _distinct(countries)


class ShippingMethodRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    price: int
    free_over: int | None


class ShippingZoneRead(BaseModel):
    id: int
    name: str
    countries: list[str]
    methods: list[ShippingMethodRead]
    created_at: datetime
    updated_at: datetime
