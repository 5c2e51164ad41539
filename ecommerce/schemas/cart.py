"""Carts as the API takes and shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from ecommerce.core.ids import MAX_ID
from ecommerce.schemas.address import Address
from ecommerce.schemas.order import MAX_QUANTITY

# As on POST /orders: a gateway card token, refused here before anything is reserved.
PaymentToken = Annotated[str, Field(min_length=5, max_length=255, pattern=r"^tok_[A-Za-z0-9_]+$")]
Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]


class CartLineAdd(BaseModel):
    """Add ``quantity`` of a product; a product already in the cart adds to its line."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"product_id": 1, "quantity": 2}]}
    )

    product_id: Id
    quantity: Quantity


class CartLineUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"quantity": 3}]})

    quantity: Quantity


class CartUpdate(BaseModel):
    """Any of these fields; null clears one. A field left out keeps its value."""

    model_config = ConfigDict(extra="forbid")

    email: EmailStr | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None


class ShippingMethodChoice(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"option_id": 1}]})

    option_id: Id


class CartCheckout(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"payment_token": "tok_visa", "expected_total": 2644}]},
    )

    payment_token: PaymentToken
    # The total the customer saw; if the cart's total is not that any more: 409.
    expected_total: Annotated[int, Field(strict=True, ge=0)] | None = None


class CartLineRead(BaseModel):
    id: int
    product_id: int
    sku: str
    name: str
    unit_price: int
    quantity: int
    line_total: int
    discount_amount: int
    tax_amount: int


class ShippingOption(BaseModel):
    """A shipping method available to a cart, at its price for that cart."""

    id: int
    name: str
    price: int


class CartRead(BaseModel):
    id: str = Field(description="Unguessable: whoever holds it reaches a guest cart.")
    status: Literal["open", "completed"]
    currency: str
    lines: list[CartLineRead]
    email: str | None
    shipping_address: Address | None
    billing_address: Address | None
    shipping_method: ShippingOption | None
    discount_code: str | None
    subtotal: int
    discount_total: int
    shipping_total: int
    tax_total: int
    total: int
    order_id: int | None
    version: int
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
