from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from ecommerce.api.dependencies import (
    AdminUser,
    CallerSessionDep,
    CurrentUser,
    DatabaseDep,
    GatewayDep,
    PageParams,
    ReconcilerDep,
    SettingsDep,
)
from ecommerce.api.errors import error_responses
from ecommerce.api.idempotency import IdempotencyDep
from ecommerce.api.limits import ClientLimited
from ecommerce.core.errors import (
    Conflict,
    Forbidden,
    GatewayError,
    GatewayTimeout,
    GatewayUnavailable,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    OutOfStock,
    PaymentDeclined,
    TooManyRequests,
)
from ecommerce.core.ids import MAX_ID
from ecommerce.models import Order
from ecommerce.schemas.common import Page
from ecommerce.schemas.order import OrderCreate, OrderRead
from ecommerce.services import cancellation, checkout
from ecommerce.services import order as order_service

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

# Bounded like the bigint column: a larger id is a 422, never a database error.
OrderId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Order id.")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Place an order and pay for it",
    responses=error_responses(
        NotAuthenticated,
        PaymentDeclined,
        OutOfStock,
        InvalidInput,
        Conflict,
        GatewayError,
        GatewayUnavailable,
        GatewayTimeout,
        TooManyRequests,
    ),
)
async def create_order(
    body: OrderCreate,
    user: CurrentUser,
    database: DatabaseDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    reconciler: ReconcilerDep,
    idempotency: IdempotencyDep,
    _: ClientLimited,
) -> OrderRead:
    async def place(on_created: checkout.OnCreated | None) -> Order:
        return await checkout.place_order(
            database,
            gateway,
            settings,
            create=checkout.reserve_and_create(settings, user.id, body, account_email=user.email),
            payment_token=body.payment_token,
            on_created=on_created,
            on_unknown_outcome=reconciler.wake_when_settleable,
        )

    order = await idempotency.run(user_id=user.id, body=body, place=place)
    return OrderRead.from_order(order)


@router.get(
    "",
    response_model=Page[OrderRead],
    summary="List your orders (an admin sees everyone's)",
    responses=error_responses(NotAuthenticated, InvalidInput),
)
async def list_orders(
    session: CallerSessionDep, user: CurrentUser, page: PageParams
) -> Page[OrderRead]:
    rows, next_cursor = await order_service.list_visible(session, user, page)
    return Page(items=[OrderRead.from_order(order) for order in rows], next_cursor=next_cursor)


@router.get(
    "/{id}",
    response_model=OrderRead,
    summary="Get one of your orders",
    responses=error_responses(NotAuthenticated, NotFound),
)
async def get_order(order_id: OrderId, session: CallerSessionDep, user: CurrentUser) -> OrderRead:
    return OrderRead.from_order(await order_service.get_visible(session, user, order_id))


@router.post(
    "/{id}/cancel",
    response_model=OrderRead,
    summary="Cancel a paid order: refund it and return its stock",
    responses=error_responses(
        NotAuthenticated, NotFound, Conflict, GatewayError, GatewayUnavailable, GatewayTimeout
    ),
)
async def cancel_order(
    order_id: OrderId, user: CurrentUser, database: DatabaseDep, gateway: GatewayDep
) -> OrderRead:
    return OrderRead.from_order(await cancellation.cancel(database, gateway, user, order_id))


@router.post(
    "/{id}/ship",
    response_model=OrderRead,
    summary="Mark a paid order shipped (admin)",
    responses=error_responses(NotAuthenticated, Forbidden, NotFound, Conflict),
)
async def ship_order(order_id: OrderId, session: CallerSessionDep, _: AdminUser) -> OrderRead:
    return OrderRead.from_order(await order_service.ship(session, order_id))
