"""Carts: guest or account carts, lines, addresses, shipping, checkout."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.api.dependencies import (
    CallerSessionDep,
    DatabaseDep,
    GatewayDep,
    OptionalUser,
    ReconcilerDep,
    SettingsDep,
)
from ecommerce.api.errors import error_responses
from ecommerce.api.idempotency import IdempotencyDep
from ecommerce.core.config import Settings
from ecommerce.core.errors import (
    Conflict,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    PreconditionFailed,
)
from ecommerce.core.ids import MAX_ID
from ecommerce.models import Order, User
from ecommerce.schemas.cart import (
    CartCheckout,
    CartLineAdd,
    CartLineUpdate,
    CartRead,
    CartUpdate,
    ShippingMethodChoice,
    ShippingOption,
)
from ecommerce.schemas.order import OrderRead
from ecommerce.services import cart as cart_service
from ecommerce.services import cart_checkout, checkout

router = APIRouter(prefix="/api/v1/carts", tags=["carts"])

# Any string: one that is not a cart's id is simply an unknown cart (404).
CartId = Annotated[str, Path(alias="id", description="The cart's id (from POST /carts).")]
LineId = Annotated[int, Path(ge=1, le=MAX_ID, description="A line id of this cart.")]


# One entity-tag of an If-Match list (RFC 9110 8.8.3): optionally weak, then quoted.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)')
# A cart's ETag is its version, as ``"<version>"``: decimal, no leading zero.
_VERSION = re.compile(r"[1-9][0-9]{0,11}")


def parse_if_match(value: str) -> cart_service.Versions:
    """The versions an ``If-Match`` value names; None for ``*`` (any version).

    If-Match uses the strong comparison (RFC 9110 13.1.1): a weak tag (``W/"3"``) never
    matches, nor does a bare ``3``, ``"03"`` or a malformed list: those name no version,
    so every write with them is refused (412).
    """
    if value.strip() == "*":
        return None
    versions: set[int] = set()
    position = 0
    while position < len(value):
        tag = _ENTITY_TAG.match(value, position)
        if tag is None or tag.end() == position:
            return set()
        position = tag.end()
        if tag.group(1) is None and _VERSION.fullmatch(tag.group(2)):
            versions.add(int(tag.group(2)))
    return versions


async def get_if_match(  # async: a plain def is solved in the thread pool
    if_match: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=1000,
            description='The cart\'s `ETag` (`"<version>"`, strong) as last read, or `*`: a '
            "write to a cart that has changed since is refused with 412 (a weak or unquoted "
            "tag never matches).",
        ),
    ] = None,
) -> cart_service.Versions:
    """The versions ``If-Match`` accepts; None when absent or ``*`` (any version)."""
    return None if if_match is None else parse_if_match(if_match)


IfMatch = Annotated[cart_service.Versions, Depends(get_if_match)]


@dataclass(frozen=True)
class CartWrite:
    """What every write to a cart takes: the caller's session, the settings, the caller,
    the versions ``If-Match`` accepts; ``answer`` tags the written cart with its ETag."""

    session: AsyncSession
    settings: Settings
    viewer: User | None
    versions: cart_service.Versions
    response: Response

    def answer(self, cart: CartRead) -> CartRead:
        return tagged(self.response, cart)


async def cart_write(
    response: Response,
    session: CallerSessionDep,
    settings: SettingsDep,
    viewer: OptionalUser,
    versions: IfMatch,
) -> CartWrite:
    return CartWrite(session, settings, viewer, versions, response)


CartWriteDep = Annotated[CartWrite, Depends(cart_write)]

READ_ERRORS = (NotAuthenticated, NotFound)
WRITE_ERRORS = (NotAuthenticated, NotFound, Conflict, PreconditionFailed, InvalidInput)


def tagged(response: Response, cart: CartRead) -> CartRead:
    response.headers["ETag"] = f'"{cart.version}"'
    return cart


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CartRead,
    summary="Create a cart",
    description="With a bearer token the cart is that user's; without one it is a guest "
    "cart, reached by whoever holds its (unguessable) id.",
    responses=error_responses(NotAuthenticated),
)
async def create_cart(
    response: Response, session: CallerSessionDep, settings: SettingsDep, viewer: OptionalUser
) -> CartRead:
    cart = await cart_service.create(session, settings, viewer)
    response.headers["Location"] = f"{router.prefix}/{cart.id}"
    return tagged(response, cart)


@router.get(
    "/{id}",
    response_model=CartRead,
    summary="Get a cart, at current prices",
    responses=error_responses(*READ_ERRORS),
)
async def get_cart(
    cart_id: CartId,
    response: Response,
    session: CallerSessionDep,
    settings: SettingsDep,
    viewer: OptionalUser,
) -> CartRead:
    return tagged(response, await cart_service.read(session, settings, viewer, cart_id))


@router.patch(
    "/{id}",
    response_model=CartRead,
    summary="Set the e-mail or the addresses",
    description="Any of `email`, `shipping_address`, `billing_address`; null clears one. "
    "A new shipping country that the chosen shipping method does not serve clears it.",
    responses=error_responses(*WRITE_ERRORS),
)
async def update_cart(cart_id: CartId, body: CartUpdate, write: CartWriteDep) -> CartRead:
    return write.answer(
        await cart_service.update(
            write.session, write.settings, write.viewer, cart_id, body, write.versions
        )
    )


@router.post(
    "/{id}/lines",
    response_model=CartRead,
    summary="Add a product (to its line, if it has one)",
    responses=error_responses(*WRITE_ERRORS, OutOfStock),
)
async def add_cart_line(cart_id: CartId, body: CartLineAdd, write: CartWriteDep) -> CartRead:
    return write.answer(
        await cart_service.add_line(
            write.session, write.settings, write.viewer, cart_id, body, write.versions
        )
    )


@router.patch(
    "/{id}/lines/{line_id}",
    response_model=CartRead,
    summary="Change a line's quantity",
    responses=error_responses(*WRITE_ERRORS, OutOfStock),
)
async def update_cart_line(
    cart_id: CartId, line_id: LineId, body: CartLineUpdate, write: CartWriteDep
) -> CartRead:
    return write.answer(
        await cart_service.update_line(
            write.session,
            write.settings,
            write.viewer,
            cart_id,
            line_id,
            body.quantity,
            write.versions,
        )
    )


@router.delete(
    "/{id}/lines/{line_id}",
    response_model=CartRead,
    summary="Remove a line",
    responses=error_responses(*WRITE_ERRORS),
)
async def delete_cart_line(cart_id: CartId, line_id: LineId, write: CartWriteDep) -> CartRead:
    return write.answer(
        await cart_service.remove_line(
            write.session, write.settings, write.viewer, cart_id, line_id, write.versions
        )
    )


@router.get(
    "/{id}/shipping-options",
    response_model=list[ShippingOption],
    summary="Shipping options for the cart's country, priced for this cart",
    description="Empty while the cart has no shipping address (it is not shipped).",
    responses=error_responses(*READ_ERRORS),
)
async def list_shipping_options(
    cart_id: CartId, session: CallerSessionDep, settings: SettingsDep, viewer: OptionalUser
) -> list[ShippingOption]:
    return await cart_service.shipping_options(session, settings, viewer, cart_id)


@router.put(
    "/{id}/shipping-method",
    response_model=CartRead,
    summary="Choose one of the cart's shipping options",
    responses=error_responses(*WRITE_ERRORS),
)
async def set_shipping_method(
    cart_id: CartId, body: ShippingMethodChoice, write: CartWriteDep
) -> CartRead:
    return write.answer(
        await cart_service.choose_shipping(
            write.session, write.settings, write.viewer, cart_id, body.option_id, write.versions
        )
    )


@router.get(
    "/{id}/order",
    response_model=OrderRead,
    summary="The order a checked-out cart became",
    description="For whoever may reach the cart, guests included.",
    responses=error_responses(*READ_ERRORS),
)
async def get_cart_order(
    cart_id: CartId, session: CallerSessionDep, settings: SettingsDep, viewer: OptionalUser
) -> OrderRead:
    return OrderRead.from_order(await cart_service.order_of(session, settings, viewer, cart_id))


@router.post(
    "/{id}/checkout",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Check the cart out: reserve, charge and place its order",
    description="The same checkout as `POST /api/v1/orders` (answers, `Idempotency-Key` "
    "replays, the reconciler), plus: 409 `price_changed` when `expected_total` is not the "
    "cart's total now (nothing reserved or charged); 422 for an empty cart, a guest cart "
    "without an e-mail, a shipping address without a shipping method, or a country no zone "
    "covers. On 201 the cart is `completed`; a declined or failed payment leaves it open.",
    responses=error_responses(
        NotAuthenticated,
        NotFound,
        PaymentDeclined,
        OutOfStock,
        PreconditionFailed,
        InvalidInput,
        GatewayError,
        GatewayUnavailable,
        GatewayTimeout,
    ),
)
async def checkout_cart(
    cart_id: CartId,
    body: CartCheckout,
    viewer: OptionalUser,
    database: DatabaseDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    reconciler: ReconcilerDep,
    idempotency: IdempotencyDep,
    versions: IfMatch,
) -> OrderRead:
    if idempotency.key is not None and viewer is None:
        # A guest's key is scoped to the cart: it must be a cart the guest may reach.
        async with database.session() as session:
            await cart_service.find(session, settings, viewer, cart_id, lock=False)

    async def place(on_created: checkout.OnCreated | None) -> Order:
        return await checkout.place_order(
            database,
            gateway,
            settings,
            create=cart_checkout.checkout_cart(
                settings, viewer, cart_id, body.expected_total, versions
            ),
            payment_token=body.payment_token,
            on_created=on_created,
            on_unknown_outcome=reconciler.wake_when_settleable,
        )

    order = await idempotency.run(
        user_id=None if viewer is None else viewer.id, cart_id=cart_id, body=body, place=place
    )
    return OrderRead.from_order(order)
