"""Discount codes as the admin API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ecommerce.schemas.product import MAX_PRICE

MAX_BPS = 10_000
MAX_COUNT = 2**31 - 1  # usage counters are PostgreSQL integers

Code = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
    ),
]
Kind = Literal["percent", "fixed"]
Value = Annotated[
    int,
    Field(
        strict=True,
        ge=1,
        le=MAX_PRICE,
        description="Basis points for `percent` (at most 10000), minor units for `fixed`.",
    ),
]
Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_PRICE, description="Minor units.")]
Count = Annotated[int, Field(strict=True, ge=1, le=MAX_COUNT)]


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must not contain control characters")
    return value


def check_rule(kind: str | None, value: int | None) -> None:
    if kind == "percent" and value is not None and value > MAX_BPS:
        raise ValueError("value: a percent discount is at most 10000 basis points (100 %)")


def check_window(starts_at: datetime | None, ends_at: datetime | None) -> None:
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at: the window must end after it starts")


class DiscountCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"code": "WELCOME10", "kind": "percent", "value": 1000, "usage_limit": 100},
                {"code": "FIVEOFF", "kind": "fixed", "value": 500, "min_subtotal": 2500},
            ]
        },
    )

    code: Code
    kind: Kind
    value: Value
    min_subtotal: Amount = 0
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    usage_limit: Count | None = None
    per_customer_limit: Count | None = None
    is_active: Annotated[bool, Field(strict=True)] = True

    @model_validator(mode="after")
    def _consistent(self) -> DiscountCreate:
        check_rule(self.kind, self.value)
        check_window(self.starts_at, self.ends_at)
        return self


class DiscountUpdate(BaseModel):
    """Any of these fields; null clears the optional limits and the window's ends."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"is_active": False}, {"ends_at": None}]}
    )

    code: Code | None = None
    kind: Kind | None = None
    value: Value | None = None
    min_subtotal: Amount | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    usage_limit: Count | None = None
    per_customer_limit: Count | None = None
    is_active: Annotated[bool, Field(strict=True)] | None = None

    @field_validator("code", "kind", "value", "min_subtotal", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may be omitted but not null")
        return value

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class DiscountCodeApply(BaseModel):
    """The code a customer typed, in any case."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "WELCOME10"}]}
    )

    # Any text: one that names no code is simply an unknown code (422, reason "unknown").
    code: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
        AfterValidator(_printable),
    ]


class DiscountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: Kind
    value: int = Field(description="Basis points for `percent`, minor units for `fixed`.")
    min_subtotal: int
    starts_at: datetime | None
    ends_at: datetime | None
    usage_limit: int | None
    per_customer_limit: int | None
    is_active: bool
    times_used: int = Field(description="Orders carrying the code now (uses given back excluded).")
    created_at: datetime
    updated_at: datetime
