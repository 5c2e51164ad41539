"""Carts: create, read, and the writes, each under the cart's row lock.

A write locks the cart row, checks ``If-Match`` against the version it holds, changes
the cart and counts a new version, all in the request's transaction: concurrent writers
queue on the lock and none loses another's change. A cart reserves no stock; adding
more than is available now is refused, and checkout takes the stock.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    OutOfStock,
    PreconditionFailed,
)
from ecommerce.models import Order, OrderStatus, Product, User
from ecommerce.models.cart import CART_ID_LENGTH
from ecommerce.repositories import cart as carts
from ecommerce.repositories import order as orders
from ecommerce.repositories import product as products
from ecommerce.repositories.cart import CartRow
from ecommerce.schemas.cart import CartLineAdd, CartRead, CartUpdate, ShippingOption
from ecommerce.schemas.order import MAX_LINES, MAX_QUANTITY
from ecommerce.services import cart_view, discounts, shipping

_CART_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{CART_ID_LENGTH}}}")

# None: no If-Match (or "*"): any current version will do.
Versions = Collection[int] | None


def new_cart_id() -> str:
    """192 random bits, URL-safe: the id is the guest's only key to the cart."""
    return secrets.token_urlsafe(24)


def may_reach(cart_user_id: int | None, viewer: User | None) -> bool:
    """A guest cart: whoever holds its id. An account's: that user or an admin."""
    if cart_user_id is None:
        return True
    return viewer is not None and (viewer.is_admin or viewer.id == cart_user_id)


async def find(
    session: AsyncSession, settings: Settings, viewer: User | None, cart_id: str, *, lock: bool
) -> CartRow:
    row = None
    if _CART_ID.fullmatch(cart_id):  # anything else cannot be a cart's id
        row = await carts.get(session, cart_id, ttl=settings.cart_ttl, lock=lock)
    if row is None or not may_reach(row.cart.user_id, viewer):
        # Expired, unknown or someone else's: the same answer, nothing revealed.
        raise NotFound("Cart not found")
    return row


def check_writable(row: CartRow, versions: Versions) -> None:
    """412 for a stale If-Match; 409 once the cart was checked out (or is being)."""
    cart = row.cart
    if versions is not None and cart.version not in versions:
        raise PreconditionFailed(
            f"The cart is at version {cart.version}; read it again and retry",
            version=cart.version,
        )
    if row.order_status == OrderStatus.PENDING:
        raise Conflict(
            f"The cart is being checked out (order {cart.order_id}); its payment is being settled",
            order_id=cart.order_id,
        )
    if cart_view.is_completed(row):
        raise Conflict(
            f"The cart is completed: it became order {cart.order_id}", order_id=cart.order_id
        )


async def _lock_for_write(
    session: AsyncSession, settings: Settings, viewer: User | None, cart_id: str, versions: Versions
) -> CartRow:
    row = await find(session, settings, viewer, cart_id, lock=True)
    check_writable(row, versions)
    return row


async def _saved(
    session: AsyncSession, settings: Settings, row: CartRow, **changes: object
) -> CartRead:
    cart = await carts.bump(session, row.cart.id, **changes)
    return await cart_view.view(session, settings, CartRow(cart, row.order_status))


async def create(session: AsyncSession, settings: Settings, viewer: User | None) -> CartRead:
    """A new empty cart: the viewer's, or a guest cart without one."""
    cart = await carts.insert_cart(
        session,
        cart_id=new_cart_id(),
        user_id=None if viewer is None else viewer.id,
        currency=settings.currency,
    )
    return await cart_view.view(session, settings, CartRow(cart, None))


async def read(
    session: AsyncSession, settings: Settings, viewer: User | None, cart_id: str
) -> CartRead:
    return await cart_view.view(
        session, settings, await find(session, settings, viewer, cart_id, lock=False)
    )


def check_product(product: Product | None, product_id: int, settings: Settings) -> Product:
    if product is None or not product.is_active:
        raise InvalidInput(f"Product {product_id} does not exist or is not for sale")
    if product.currency != settings.currency:
        raise InvalidInput(
            f"Product {product_id} is priced in {product.currency}; "
            f"the store sells in {settings.currency}"
        )
    return product


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        raise OutOfStock(
            f"Only {product.stock} of product {product.id} available; the cart would hold "
            f"{quantity}",
            product_id=product.id,
            available=product.stock,
        )


async def add_line(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    data: CartLineAdd,
    versions: Versions = None,
) -> CartRead:
    """Add to the product's line (or a new line); 422 past the limits, 409 past the stock."""
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    product = check_product(
        await products.get_product(session, data.product_id), data.product_id, settings
    )
    line = await carts.find_line(session, cart_id, product.id)
    quantity = data.quantity + (0 if line is None else line.quantity)
    if quantity > MAX_QUANTITY:
        raise InvalidInput(
            f"quantity: a line holds at most {MAX_QUANTITY} units (this one would hold {quantity})"
        )
    if line is None and await carts.count_lines(session, cart_id) >= MAX_LINES:
        raise InvalidInput(f"lines: a cart holds at most {MAX_LINES} lines")
    _check_stock(product, quantity)
    if line is None:
        await carts.add_line(session, cart_id, product.id, quantity)
    else:
        await carts.set_quantity(session, line.id, quantity)
    return await _saved(session, settings, row)


async def update_line(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    line_id: int,
    quantity: int,
    versions: Versions = None,
) -> CartRead:
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    line = await carts.get_line(session, cart_id, line_id)
    if line is None:
        raise NotFound(f"Line {line_id} is not in this cart")
    product = check_product(
        await products.get_product(session, line.product_id), line.product_id, settings
    )
    _check_stock(product, quantity)
    await carts.set_quantity(session, line.id, quantity)
    return await _saved(session, settings, row)


async def remove_line(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    line_id: int,
    versions: Versions = None,
) -> CartRead:
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    line = await carts.get_line(session, cart_id, line_id)
    if line is None:
        raise NotFound(f"Line {line_id} is not in this cart")
    await carts.delete_line(session, line.id)
    return await _saved(session, settings, row)


async def update(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    data: CartUpdate,
    versions: Versions = None,
) -> CartRead:
    """Set (or, with null, clear) the e-mail and addresses that were sent.

    A new shipping country that the chosen method's zone does not cover clears the
    method; no shipping address at all (not shipped) clears it too.
    """
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    changes: dict[str, object] = {}
    sent = data.model_fields_set
    if "email" in sent:
        changes["email"] = data.email
    if "billing_address" in sent:
        changes["billing_address"] = _stored(data, "billing_address")
    if "shipping_address" in sent:
        changes["shipping_address"] = _stored(data, "shipping_address")
        country = None if data.shipping_address is None else data.shipping_address.country
        method = await shipping.method_for(session, row.cart.shipping_method_id, country)
        if method is None:
            changes["shipping_method_id"] = None
    if not changes:  # nothing sent: nothing changes, the version stays
        return await cart_view.view(session, settings, row)
    return await _saved(session, settings, row, **changes)


def _stored(data: CartUpdate, field: str) -> dict[str, object] | None:
    address = getattr(data, field)
    return None if address is None else address.model_dump(mode="json")


async def choose_shipping(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    option_id: int,
    versions: Versions = None,
) -> CartRead:
    """Pick one of the cart's shipping options; 422 if it does not ship there."""
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    address = row.cart.shipping_address
    if address is None:
        raise InvalidInput("option_id: set a shipping address first; the cart is not shipped")
    if await shipping.method_for(session, option_id, str(address["country"])) is None:
        raise InvalidInput(
            f"option_id: shipping option {option_id} is not available for {address['country']}"
        )
    return await _saved(session, settings, row, shipping_method_id=option_id)


async def apply_discount_code(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    code: str,
    versions: Versions = None,
) -> CartRead:
    """Put a code on the cart (replacing any); 422 with the reason when it does not apply.

    Checked against the cart's subtotal now and, with a per-customer limit, the cart's
    e-mail (or its owner's). Checkout checks it again and takes the use atomically.
    """
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    lines = await carts.lines_with_products(session, cart_id)
    email = row.cart.email
    if email is None and viewer is not None and viewer.id == row.cart.user_id:
        email = viewer.email
    discount = await discounts.find_applicable(
        session,
        code,
        subtotal=sum(product.price * line.quantity for line, product in lines),
        now=datetime.now(UTC),
        email=email,
    )
    return await _saved(session, settings, row, discount_code=discount.code)


async def remove_discount_code(
    session: AsyncSession,
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    versions: Versions = None,
) -> CartRead:
    row = await _lock_for_write(session, settings, viewer, cart_id, versions)
    return await _saved(session, settings, row, discount_code=None)


async def shipping_options(
    session: AsyncSession, settings: Settings, viewer: User | None, cart_id: str
) -> list[ShippingOption]:
    row = await find(session, settings, viewer, cart_id, lock=False)
    return await cart_view.options(session, settings, row)


async def order_of(
    session: AsyncSession, settings: Settings, viewer: User | None, cart_id: str
) -> Order:
    """The order the cart became (pending while its payment settles); 404 before that."""
    row = await find(session, settings, viewer, cart_id, lock=False)
    if row.cart.order_id is None or row.order_status == OrderStatus.PAYMENT_FAILED:
        raise NotFound("This cart has not been checked out")
    order = await orders.get(session, row.cart.order_id)
    if order is None:
        raise NotFound("This cart has not been checked out")
    return order
