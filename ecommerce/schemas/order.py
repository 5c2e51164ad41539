from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecommerce.models import Order

MAX_LINES = 100
MAX_QUANTITY = 1000


class OrderLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[int, Field(strict=True, ge=1, le=2**63 - 1)]
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]


class OrderCreate(BaseModel):
    """What a customer orders; prices always come from the catalog, never from here."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"product_id": 1, "quantity": 2}], "payment_token": "tok_visa"}]
        },
    )

    items: Annotated[list[OrderLineCreate], Field(min_length=1, max_length=MAX_LINES)]
    # A card token from the gateway's client-side library: "tok_" and its id. Anything else
    # would be refused by the gateway; refused here, it reserves no stock meanwhile.
    payment_token: Annotated[
        str, Field(min_length=5, max_length=255, pattern=r"^tok_[A-Za-z0-9_]+$")
    ]

    @field_validator("items")
    @classmethod
    def _one_line_per_product(cls, items: list[OrderLineCreate]) -> list[OrderLineCreate]:
        seen: set[int] = set()
        for item in items:
            if item.product_id in seen:
                raise ValueError(
                    f"product {item.product_id} appears twice; "
                    "send one line with the total quantity"
                )
            seen.add(item.product_id)
        return items


class OrderLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    product_id: int
    sku: str
    name: str
    unit_price: int
    quantity: int
    line_total: int


class PaymentRead(BaseModel):
    charge_id: str | None
    status: str


class OrderRead(BaseModel):
    id: int
    status: str
    items: list[OrderLineRead]
    total: int
    currency: str
    created_at: datetime
    updated_at: datetime
    payment: PaymentRead | None

    @classmethod
    def from_order(cls, order: Order) -> OrderRead:
        payment = None
        if order.payment_status is not None:
            payment = PaymentRead(charge_id=order.charge_id, status=order.payment_status)
        return cls(
            id=order.id,
            status=order.status,
            items=[OrderLineRead.model_validate(line) for line in order.items],
            total=order.total,
            currency=order.currency,
            created_at=order.created_at,
            updated_at=order.updated_at,
            payment=payment,
        )
