"""All models, imported here so ``Base.metadata`` knows every table (alembic reads it)."""

from ecommerce.models.base import Base
from ecommerce.models.cart import Cart, CartLine
from ecommerce.models.discount import Discount, DiscountKind, DiscountUse
from ecommerce.models.email import EmailKind, EmailMessage, EmailStatus
from ecommerce.models.event import (
    DeliveryStatus,
    Event,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
)
from ecommerce.models.idempotency import IdempotencyKey
from ecommerce.models.job import job_table
from ecommerce.models.limit import LimitCounter
from ecommerce.models.order import Order, OrderLine, OrderStatus
from ecommerce.models.password_reset import PasswordResetToken
from ecommerce.models.product import Product
from ecommerce.models.shipping import ShippingMethod, ShippingZone, ShippingZoneCountry
from ecommerce.models.tax import TaxRate
from ecommerce.models.user import User

__all__ = [
    "Base",
    "Cart",
    "CartLine",
    "DeliveryStatus",
    "Discount",
    "DiscountKind",
    "DiscountUse",
    "EmailKind",
    "EmailMessage",
    "EmailStatus",
    "Event",
    "EventType",
    "IdempotencyKey",
    "LimitCounter",
    "Order",
    "OrderLine",
    "OrderStatus",
    "PasswordResetToken",
    "Product",
    "ShippingMethod",
    "ShippingZone",
    "ShippingZoneCountry",
    "TaxRate",
    "User",
    "WebhookDelivery",
    "WebhookEndpoint",
    "job_table",
]
