from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from ecommerce.core.ids import MAX_ID
from ecommerce.models import Order
from ecommerce.schemas.address import Address

MAX_LINES = 100
MAX_QUANTITY = 1000


class OrderLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
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
    # Optional, as on a cart; the totals are computed exactly as a cart checkout does.
    email: EmailStr | None = Field(
        default=None, description="Defaults to the account's e-mail address."
    )
    shipping_address: Address | None = Field(
        default=None, description="Omitted: not shipped (no shipping cost)."
    )
    billing_address: Address | None = None
    shipping_option_id: Annotated[int, Field(strict=True, ge=1, le=MAX_ID)] | None = Field(
        default=None,
        description="A shipping method of the zone covering the shipping address's country.",
    )
    discount_code: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = None

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
    discount_amount: int
    tax_amount: int


class ShippingRead(BaseModel):
    method: str = Field(description="The shipping method's name when the order was placed")
    price: int = Field(description="What shipping cost, in minor units (0 when free)")


class PaymentRead(BaseModel):
    charge_id: str | None
    status: str


class OrderRead(BaseModel):
    id: int
    status: str
    items: list[OrderLineRead]
    subtotal: int
    discount_total: int
    shipping_total: int
    tax_total: int
    total: int
    currency: str
    email: str | None
    shipping_address: Address | None
    billing_address: Address | None
    shipping: ShippingRead | None
    discount_code: str | None
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
            subtotal=order.subtotal,
            discount_total=order.discount_total,
            shipping_total=order.shipping_total,
            tax_total=order.tax_total,
            total=order.total,
            currency=order.currency,
            email=order.email,
            shipping_address=_address(order.shipping_address),
            billing_address=_address(order.billing_address),
            shipping=(
                None
                if order.shipping_method is None
                else ShippingRead(method=order.shipping_method, price=order.shipping_price or 0)
            ),
            discount_code=order.discount_code,
            created_at=order.created_at,
            updated_at=order.updated_at,
            payment=payment,
        )


def _address(stored: dict[str, Any] | None) -> Address | None:
    # Snapshots are trusted: they were validated when taken, and a stricter rule later
    # (say, a country code withdrawn from ISO 3166) must not make an old order unreadable.
    return None if stored is None else Address.model_construct(**stored)
