"""What a cart shows: its lines at current catalog prices, its shipping and totals."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.models import CartLine, OrderStatus, Product, ShippingMethod, User
from ecommerce.repositories import cart as carts
from ecommerce.repositories.cart import CartRow
from ecommerce.schemas.address import Address
from ecommerce.schemas.cart import CartLineRead, CartRead, ShippingOption
from ecommerce.services import shipping
from ecommerce.services.cart_pricing import (
    Adjustments,
    destination_country,
    price,
    shipping_and_adjustments,
    shipping_price,
)
from ecommerce.services.pricing import PriceLine, Totals, subtotal


def is_completed(row: CartRow) -> bool:
    """Checked out: its order exists and did not fail (a failed payment reopens it)."""
    return row.cart.order_id is not None and row.order_status not in (
        None,
        OrderStatus.PAYMENT_FAILED,
    )


def buyer_of(row: CartRow, viewer: User | None) -> int | None:
    """Whose order the cart would become: its owner; a guest cart checked out by a
    signed-in customer becomes theirs (they built it before signing in); else a guest's.

    The cart's view prices its discount code for this buyer, as the checkout does.
    """
    if row.cart.user_id is not None:
        return row.cart.user_id
    if viewer is not None and not viewer.is_admin:
        return viewer.id
    return None


@dataclass(frozen=True)
class PricedCart:
    """A cart's lines with their products, its valid shipping method and its totals."""

    row: CartRow
    lines: list[tuple[CartLine, Product]]
    method: ShippingMethod | None
    adjustments: Adjustments
    totals: Totals

    @property
    def price_lines(self) -> list[PriceLine]:
        return [PriceLine(product.price, line.quantity) for line, product in self.lines]

    @property
    def shipping_country(self) -> str | None:
        address = self.row.cart.shipping_address
        return None if address is None else str(address["country"])


async def price_cart(
    session: AsyncSession,
    settings: Settings,
    row: CartRow,
    lines: list[tuple[CartLine, Product]],
    *,
    buyer_id: int | None,
    email: str | None = None,
    at_checkout: bool = False,
) -> PricedCart:
    """Price the cart as it stands, with the catalog's current prices.

    A chosen method whose zone no longer covers the shipping country (an admin changed
    the zones) is not applied: the cart shows no method and checkout asks for one. So is
    a discount code that does not apply now, except ``at_checkout``, where it is refused.
    """
    cart = row.cart
    country = None if cart.shipping_address is None else str(cart.shipping_address["country"])
    prices = [PriceLine(product.price, line.quantity) for line, product in lines]
    method, adjustments = await shipping_and_adjustments(
        session,
        settings,
        method_id=cart.shipping_method_id,
        ship_country=country,
        country=destination_country(cart.shipping_address, cart.billing_address),
        discount_code=cart.discount_code,
        user_id=buyer_id,
        subtotal=subtotal(prices),
        email=email or cart.email,
        at_checkout=at_checkout,
    )
    return PricedCart(row, lines, method, adjustments, price(prices, method, adjustments, settings))


async def load_priced(
    session: AsyncSession, settings: Settings, row: CartRow, viewer: User | None
) -> PricedCart:
    return await price_cart(
        session,
        settings,
        row,
        await carts.lines_with_products(session, row.cart.id),
        buyer_id=buyer_of(row, viewer),
    )


def render(priced: PricedCart, settings: Settings) -> CartRead:
    cart = priced.row.cart
    totals = priced.totals
    method = priced.method
    return CartRead(
        id=cart.id,
        status="completed" if is_completed(priced.row) else "open",
        currency=cart.currency,
        lines=[
            CartLineRead(
                id=line.id,
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                unit_price=product.price,
                quantity=line.quantity,
                line_total=amounts.line_total,
                discount_amount=amounts.discount_amount,
                tax_amount=amounts.tax_amount,
            )
            for (line, product), amounts in zip(priced.lines, totals.lines, strict=True)
        ],
        email=cart.email,
        shipping_address=_address(cart.shipping_address),
        billing_address=_address(cart.billing_address),
        shipping_method=(
            None
            if method is None
            else ShippingOption(id=method.id, name=method.name, price=totals.shipping_total)
        ),
        discount_code=cart.discount_code,
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        shipping_total=totals.shipping_total,
        tax_total=totals.tax_total,
        total=totals.total,
        order_id=cart.order_id if is_completed(priced.row) else None,
        version=cart.version,
        expires_at=cart.updated_at + settings.cart_ttl,
        created_at=cart.created_at,
        updated_at=cart.updated_at,
    )


async def view(
    session: AsyncSession, settings: Settings, row: CartRow, viewer: User | None
) -> CartRead:
    return render(await load_priced(session, settings, row, viewer), settings)


async def options(
    session: AsyncSession, settings: Settings, row: CartRow, viewer: User | None
) -> list[ShippingOption]:
    """The methods that ship to the cart's country, each at its price for this cart."""
    priced = await load_priced(session, settings, row, viewer)
    methods = await shipping.options_for(session, priced.shipping_country)
    return [
        ShippingOption(
            id=method.id,
            name=method.name,
            price=shipping_price(priced.price_lines, method, priced.adjustments, settings),
        )
        for method in methods
    ]


def _address(stored: dict[str, object] | None) -> Address | None:
    return None if stored is None else Address.model_validate(stored)
