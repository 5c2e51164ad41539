"""All models, imported here so ``Base.metadata`` knows every table (alembic reads it)."""

from ecommerce.models.base import Base
from ecommerce.models.idempotency import IdempotencyKey
from ecommerce.models.limit import LimitCounter
from ecommerce.models.order import Order, OrderLine, OrderStatus
from ecommerce.models.product import Product
from ecommerce.models.user import User

__all__ = [
    "Base",
    "IdempotencyKey",
    "LimitCounter",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Product",
    "User",
]
