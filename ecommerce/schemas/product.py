"""Products as the API takes and shows them. Money is integer minor units."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ecommerce.models.product import MAX_STOCK

# 10 billion in major units: an order of 100 lines x 1000 units still fits a bigint.
MAX_PRICE = 10**12

Sku = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, Field(max_length=10_000)]
# Strict: no floats and no numeric strings in money ("19.99" or 19.0 is a 422).
Price = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE, description="Minor units (cents).")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")]
Stock = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]


class ProductCreate(BaseModel):
    """A new product. ``currency`` defaults to the store's; ``stock`` to 0."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "sku": "TEE-BLK-M",
                    "name": "Organic cotton T-shirt, black, M",
                    "description": "Heavyweight jersey, fair-trade cotton.",
                    "price": 1999,
                    "currency": "USD",
                    "stock": 120,
                }
            ]
        },
    )

    sku: Sku
    name: Name
    description: Description = ""
    price: Price
    currency: Currency | None = None
    stock: Stock = 0


class ProductUpdate(BaseModel):
    """Any of these fields; the others keep their value. ``stock`` moves only by /stock."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"price": 1799, "is_active": True}]},
    )

    name: Name | None = None
    description: Description | None = None
    price: Price | None = None
    is_active: Annotated[bool, Field(strict=True)] | None = None

    @field_validator("name", "price", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # Leaving a field out keeps it; sending null for a required column is an error.
        if value is None:
            raise ValueError("may be omitted but not null")
        return value

    def changes(self) -> dict[str, Any]:
        """The fields the client sent; a null description clears it."""
        values = self.model_dump(exclude_unset=True)
        if "description" in values and values["description"] is None:
            values["description"] = ""
        return values


class StockAdjust(BaseModel):
    """Add ``delta`` units (negative to remove). The result may not go below zero."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"delta": 25}, {"delta": -3}]}
    )

    delta: Annotated[int, Field(strict=True, ge=-MAX_STOCK, le=MAX_STOCK)]


class ProductRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    description: str
    price: int = Field(description="Minor units (cents).")
    currency: str
    stock: int = Field(description="Units available to sell.")
    is_active: bool
    created_at: datetime
    updated_at: datetime


# Public reads skip the response model: rows of ProductRead's columns, in its order, go
# to JSON once, with orjson, instead of rows -> entities -> ProductRead -> validated
# again by FastAPI -> JSON. OPT_UTC_Z writes UTC as "Z", as pydantic does, so the bytes
# are the ones ProductRead would produce (tests/integration/test_product_json.py).
_JSON_OPTIONS = orjson.OPT_UTC_Z


def product_json(row: Mapping[Any, Any]) -> bytes:
    """A ProductRead's JSON from a row of its columns."""
    return orjson.dumps(dict(row), option=_JSON_OPTIONS)


def product_page_json(rows: Sequence[Mapping[Any, Any]], next_cursor: str | None) -> bytes:
    """A ``Page[ProductRead]``'s JSON from rows of ProductRead's columns."""
    return orjson.dumps(
        {"items": [dict(row) for row in rows], "next_cursor": next_cursor}, option=_JSON_OPTIONS
    )
