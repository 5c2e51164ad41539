"""Placing an order: reserve stock, commit, charge, settle (DESIGN rule 6).

One checkout for every way of ordering: ``place_order`` takes the step that reserves
the stock and inserts the ``pending`` order (``reserve_and_create`` for a direct order; a
cart supplies its own), runs it in the first transaction, then charges with no
transaction open and no pooled connection held, then settles in a second one. A charge
whose outcome is unknown leaves the order ``pending`` with its stock reserved for the
reconciler to settle.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import (
    Conflict,
    DomainError,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidInput,
    OutOfStock,
    PaymentDeclined,
    ServiceUnavailable,
    TooManyRequests,
)
from ecommerce.models import EventType, Order, OrderLine, OrderStatus
from ecommerce.repositories import limit as limit_repo
from ecommerce.repositories import order as orders
from ecommerce.repositories import stock
from ecommerce.schemas.order import OrderCreate
from ecommerce.services import (
    catalog,
    events,
    limits,
    order_pricing,
    order_snapshot,
    order_state,
    orphan_refund,
)
from ecommerce.services.cart_pricing import take_use_for
from ecommerce.services.order_state import OrderEvent
from ecommerce.services.payment import Charge, PaymentGateway

logger = logging.getLogger(__name__)

# The first step of a checkout: reserve the stock and insert the ``pending`` order, in
# the transaction that ``place_order`` opens (raise to reserve nothing).
CreateOrder = Callable[[AsyncSession], Awaitable[Order]]
# Called inside that same transaction once the order exists (the idempotency key links it).
OnCreated = Callable[[AsyncSession, int], Awaitable[None]]


async def insert_order(
    session: AsyncSession,
    settings: Settings,
    *,
    user_id: int | None,
    lines: Sequence[OrderLine],
    **snapshot: Any,
) -> Order:
    """Insert the ``pending`` order of a checkout step, past the limits (raising rolls the
    reservations back: nothing is reserved, nothing is charged).

    A total above ECOMMERCE_MAX_ORDER_TOTAL is 422; past the declines allowed (card
    testing) the gateway is not even asked (429); an account with
    ECOMMERCE_MAX_PENDING_ORDERS orders waiting for their payment is 429. These come
    before the discount code's use is taken (a code used up by then is 409 after them).

    One round trip reads the declines and takes the per-user lock that makes the pending
    count exact; the count is the insert's own condition. The lock must stay a statement
    of its own, before the insert (see ``orders.add``).
    """
    total = snapshot["total"]
    if total > settings.max_order_total:
        raise InvalidInput(
            f"The order total {total} is above the limit of {settings.max_order_total}"
        )
    lock = None if user_id is None else orders.pending_lock_key(user_id)
    if total > 0:
        who = payer(user_id, snapshot["email"])
        await limits.check(session, limits.decline_limit(settings), who, lock=lock)
    elif lock is not None:
        await limit_repo.take_lock(session, lock)
    order = await orders.add(
        session,
        user_id=user_id,
        lines=lines,
        pending_cap=None if user_id is None else settings.max_pending_orders,
        **snapshot,
    )
    if order is None:
        raise TooManyRequests(
            f"You have {settings.max_pending_orders} orders waiting for their payment; "
            "retry once they are settled",
            retry_after=int(settings.reconcile_interval + 2 * settings.payment_gateway_timeout),
        )
    return order


def reserve_and_create(
    settings: Settings, user_id: int, request: OrderCreate, *, account_email: str | None = None
) -> CreateOrder:
    """The step of a direct order (``POST /orders``): catalog prices, all lines or none.

    Shipping, discount and tax are priced as a cart checkout prices them
    (services/order_pricing.py); the e-mail defaults to the account's.
    """

    async def create(session: AsyncSession) -> Order:
        wanted = sorted((item.product_id, item.quantity) for item in request.items)
        # Locked: the stock read here is what the reservation finds (two statements for
        # the stock of any number of lines, as a cart's checkout).
        ids = [product_id for product_id, _ in wanted]
        known = await stock.products_by_id(session, ids, lock=True)
        for product_id, _ in wanted:
            catalog.check_sellable(known.get(product_id), product_id, settings)
        # From catalog prices, before any reservation (the checkout checks the final
        # total again, with discounts, shipping and tax, whatever step made the order).
        estimate = sum(known[product_id].price * quantity for product_id, quantity in wanted)
        if estimate > settings.max_order_total:
            raise InvalidInput(
                f"The order total {estimate} is above the limit of {settings.max_order_total}"
            )
        method = await order_pricing.shipping_of(session, request)
        for product_id, quantity in wanted:
            catalog.check_stock(known[product_id], quantity)
        if not await stock.reserve_locked(session, wanted):
            raise OutOfStock("Not enough stock for the order's products")
        items = [
            order_snapshot.Item.of_product(known[product_id], quantity)
            for product_id, quantity in wanted
        ]
        email = request.email or account_email
        totals, adjustments = await order_pricing.price_order(
            session,
            settings,
            lines=[item.price_line for item in items],
            method=method,
            request=request,
            user_id=user_id,
            email=email,
        )
        snapshot = order_snapshot.order_values(
            totals,
            email=email,
            shipping_address=None,
            billing_address=None,
            method=method,
            discount_code=adjustments.discount_code,
        )
        order = await insert_order(
            session,
            settings,
            user_id=user_id,
            currency=settings.currency,
            lines=order_snapshot.order_lines(items, totals),
            **(snapshot | order_pricing.addresses(request)),
        )
        # The code's use is taken in the order's own transaction: 409 before any charge.
        await take_use_for(session, adjustments, order=order, user_id=user_id, email=email)
        return order

    return create


@asynccontextmanager
async def settling(order_id: int) -> AsyncIterator[None]:
    """Database work after the order exists: a failure here must name the order.

    The order is committed and maybe charged; the reconciler will settle it. A bare 503
    ("retry shortly") would invite a retry that places a second order.
    """
    try:
        yield
    except (DomainError, SQLAlchemyError, OSError) as error:
        logger.warning("order %s: could not record the payment outcome: %r", order_id, error)
        raise ServiceUnavailable(
            f"The payment outcome of order {order_id} could not be recorded; "
            "it will be settled automatically",
            order_id=order_id,
        ) from None


def charge_mismatch(charge: Charge, order: Order) -> str | None:
    """Why a 2xx charge answer is not this order's payment, or None when it is."""
    if charge.status != "succeeded":
        return f"status {charge.status!r}"
    if charge.amount != order.total:
        return f"amount {charge.amount}, not {order.total}"
    if charge.currency.upper() != order.currency.upper():
        return f"currency {charge.currency}, not {order.currency}"
    return None


def payer_of(order: Order) -> str:
    return payer(order.user_id, order.email)


def payer(user_id: int | None, email: str | None) -> str:
    """Whose declines count: the account, or a guest's e-mail."""
    if user_id is not None:
        return f"user:{user_id}"
    return f"email:{(email or '').lower()}"


async def place_order(
    database: Database,
    gateway: PaymentGateway,
    settings: Settings,
    *,
    create: CreateOrder,
    payment_token: str,
    on_created: OnCreated | None = None,
    on_unknown_outcome: Callable[[], None] | None = None,
) -> Order:
    """Reserve, charge and settle one order; returns it ``paid`` or raises a domain error.

    Raises what ``create`` raises (InvalidInput 422, OutOfStock 409, ...) with nothing
    reserved or charged, and so do the limits (a total above ECOMMERCE_MAX_ORDER_TOTAL
    422; too many pending orders or declines 429). PaymentDeclined (402) with the order
    ``payment_failed`` and its stock back, for a declined card and for any other definite
    refusal of the charge (400); GatewayError / GatewayUnavailable / GatewayTimeout
    (502/503/504) with the order left ``pending`` for the reconciler. A 2xx charge that
    is not this order's payment fails the order (stock back) and is refunded (502).
    Every error after the order exists names its id.
    """
    async with database.transaction() as session:
        order = await create(session)  # limits included (``insert_order``)
        await events.record_order_event(session, order, EventType.ORDER_CREATED)
        if on_created is not None:
            await on_created(session, order.id)
    order_id = order.id

    charge_id: str | None = None
    if order.total > 0:  # a free order has nothing to charge
        # A conditional mark first: an order the reconciler settled meanwhile (its
        # first transaction was slow) is never charged.
        async with settling(order_id), database.transaction() as session:
            started = await order_state.start_charge(session, order_id)
        if not started:
            raise Conflict(
                f"Order {order_id} was settled before its charge was sent; nothing was charged",
                order_id=order_id,
            )
        charge = await _charge(
            database, gateway, settings, order, payment_token, on_unknown_outcome
        )
        mismatch = charge_mismatch(charge, order)
        if mismatch is not None:
            async with settling(order_id), database.transaction() as session:
                moved = await order_state.fail_invalid_charge(session, order_id, charge.id)
                failed = await orders.get(session, order_id)
            if moved and failed is not None:
                orphan_refund.report(failed, "mismatch", charge)
                await orphan_refund.refund(database, gateway, failed, charge)
            raise GatewayError(
                f"The payment gateway answered a charge that is not this order's ({mismatch}); "
                f"order {order_id} failed, its stock was returned and the charge is refunded",
                order_id=order_id,
            )
        charge_id = charge.id

    async with settling(order_id), database.transaction() as session:
        paid = await order_state.settle_paid(session, order_id, charge_id)
        # Not moved: someone else settled it meanwhile; what they made of it decides.
        settled = paid if paid is not None else await orders.get(session, order_id)
    assert settled is not None
    if paid is None and settled.status == OrderStatus.PAYMENT_FAILED and charge_id is not None:
        # Only if the gateway recorded the charge after the reconciler's lookup (a gateway
        # slower than our timeout): the order failed, so the money goes back.
        async with settling(order_id), database.transaction() as session:
            moved = await order_state.late_charge_found(session, order_id, charge_id)
            failed = await orders.get(session, order_id)
        if moved and failed is not None:
            orphan_refund.report(failed, "late", charge)
            await orphan_refund.refund(database, gateway, failed, charge)
        raise GatewayError(
            f"Order {order_id} was settled as failed while its charge completed; "
            "the charge is refunded",
            order_id=order_id,
        )
    return settled


async def _charge(
    database: Database,
    gateway: PaymentGateway,
    settings: Settings,
    order: Order,
    payment_token: str,
    on_unknown_outcome: Callable[[], None] | None,
) -> Charge:
    """Send the charge; settle a definite refusal at once, mark an unknown outcome."""
    order_id = order.id
    try:
        return await gateway.charge(
            amount=order.total,
            currency=order.currency,
            source=payment_token,
            idempotency_key=order_state.charge_key(order.payment_key),
            description=f"Order {order_id}",
            metadata={"order_id": str(order_id)},
        )
    except PaymentDeclined as declined:
        async with settling(order_id), database.transaction() as session:
            await order_state.settle_failed(session, order_id, OrderEvent.CHARGE_DECLINED)
            await limits.record(session, limits.decline_limit(settings), payer_of(order))
        raise PaymentDeclined(declined.detail, **declined.extra, order_id=order_id) from None
    except GatewayRejected as refused:
        # 400: the gateway refused the request itself, so nothing was charged and the
        # stock comes back now, not after the reconciler's grace.
        async with settling(order_id), database.transaction() as session:
            await order_state.settle_failed(session, order_id, OrderEvent.CHARGE_DECLINED)
        raise PaymentDeclined(
            f"The payment gateway refused the charge ({refused.detail}); "
            f"order {order_id} failed and its stock was returned",
            order_id=order_id,
        ) from None
    except (GatewayError, GatewayUnavailable, GatewayTimeout) as unknown:
        # The charge may or may not exist: only the gateway knows. Keep the stock
        # reserved and let the reconciler ask it; its grace period starts now.
        async with settling(order_id), database.transaction() as session:
            await order_state.mark_unknown(session, order_id)
        if on_unknown_outcome is not None:
            on_unknown_outcome()
        logger.warning("payment outcome unknown for order %s: %s", order_id, type(unknown).__name__)
        error: DomainError = type(unknown)(
            f"{unknown.detail}; order {order_id} stays pending until its payment is settled",
            order_id=order_id,
        )
        raise error from None
