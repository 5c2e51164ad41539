"""The first step of a cart's checkout: lock, price, reserve, insert the order, link it.

It is the ``create`` step that ``checkout.place_order`` runs in its first transaction,
so a cart is charged and settled exactly like a direct order. Everything it refuses
(422, 409) leaves nothing reserved; a second checkout of the same cart waits on the cart
lock and then finds it checked out (409).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.errors import Conflict, InvalidInput, OutOfStock
from ecommerce.models import Order, User
from ecommerce.repositories import cart as carts
from ecommerce.repositories import stock
from ecommerce.repositories import user as users
from ecommerce.repositories.cart import CartRow
from ecommerce.services import cart as cart_service
from ecommerce.services import cart_pricing, cart_view, catalog, order_snapshot, shipping
from ecommerce.services.cart_view import PricedCart
from ecommerce.services.checkout import CreateOrder, insert_order


class PriceChanged(Conflict):
    """The cart's total is not the one the customer saw (``expected_total``)."""

    default_detail = "price_changed"

    def __init__(self, *, expected_total: int, total: int) -> None:
        super().__init__(
            "price_changed",
            message=f"The cart's total is now {total}, not {expected_total}: "
            "review the cart and check out again",
            expected_total=expected_total,
            total=total,
        )


async def _email(
    session: AsyncSession, row: CartRow, viewer: User | None, buyer_id: int | None
) -> str:
    """The cart's e-mail, else the buyer's account e-mail; a guest must give one."""
    cart = row.cart
    if cart.email is not None:
        return cart.email
    if buyer_id is not None:
        if viewer is not None and viewer.id == buyer_id:
            return viewer.email
        owner = await users.get_by_id(session, buyer_id)
        if owner is not None:
            return owner.email
    raise InvalidInput("email: a guest cart needs an e-mail address before checkout")


async def _check_shipping(session: AsyncSession, priced: PricedCart) -> None:
    country = priced.shipping_country
    if country is None or priced.method is not None:
        return  # not shipped, or shipped by a method that serves the country
    if not await shipping.options_for(session, country):
        raise InvalidInput(f"shipping_address: no shipping zone covers {country}")
    raise InvalidInput(
        "shipping_method: the cart has a shipping address but no shipping method for it; "
        "choose one of its shipping options"
    )


def checkout_cart(
    settings: Settings,
    viewer: User | None,
    cart_id: str,
    expected_total: int | None,
    versions: cart_service.Versions = None,
) -> CreateOrder:
    """The step that turns the cart into a ``pending`` order (see the module doc).

    ``versions``: the request's ``If-Match``, checked under the cart's lock like any write.
    """

    async def create(session: AsyncSession) -> Order:
        row = await cart_service.find(session, settings, viewer, cart_id, lock=True)
        cart_service.check_writable(row, versions)
        buyer_id = cart_view.buyer_of(row, viewer)
        lines = await carts.lines_with_products(session, cart_id, lock_products=True)
        if not lines:
            raise InvalidInput("lines: the cart is empty")
        for _, product in lines:
            catalog.check_sellable(product, product.id, settings)
        email = await _email(session, row, viewer, buyer_id)
        priced = await cart_view.price_cart(
            session, settings, row, lines, buyer_id=buyer_id, email=email, at_checkout=True
        )
        await _check_shipping(session, priced)
        totals = priced.totals
        if expected_total is not None and expected_total != totals.total:
            raise PriceChanged(expected_total=expected_total, total=totals.total)
        # The products are locked: this stock is what the reservation will find.
        for line, product in sorted(lines, key=lambda pair: pair[1].id):
            catalog.check_stock(product, line.quantity)
        wanted = sorted((product.id, line.quantity) for line, product in lines)
        if not await stock.reserve_locked(session, wanted):
            raise OutOfStock("Not enough stock for the cart's products")
        cart = row.cart
        order = await insert_order(
            session,
            settings,
            user_id=buyer_id,
            currency=cart.currency,
            lines=order_snapshot.order_lines(
                [order_snapshot.Item.of_product(product, line.quantity) for line, product in lines],
                totals,
            ),
            **order_snapshot.order_values(
                totals,
                email=email,
                shipping_address=cart.shipping_address,
                billing_address=cart.billing_address,
                method=priced.method,
                discount_code=priced.adjustments.discount_code,
            ),
        )
        # The code's use is taken here, in the order's transaction, before any charge.
        await cart_pricing.take_use_for(
            session, priced.adjustments, order=order, user_id=buyer_id, email=email
        )
        # The cart now leads to its order: completed once it is paid, open again if the
        # payment fails (its status follows the order's, see cart_view.is_completed).
        await carts.bump(session, cart_id, order_id=order.id)
        return order

    return create
