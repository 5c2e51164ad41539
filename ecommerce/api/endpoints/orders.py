from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, status
from fastapi.responses import JSONResponse

from ecommerce.api.dependencies import (
    AdminUser,
    CurrentUser,
    DatabaseDep,
    GatewayDep,
    PageParams,
    SessionDep,
    SettingsDep,
)
from ecommerce.api.errors import error_responses
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
)
from ecommerce.models.base import MAX_ID
from ecommerce.schemas.common import Page
from ecommerce.schemas.order import OrderCreate, OrderRead
from ecommerce.services import checkout
from ecommerce.services import order as order_service
from ecommerce.services.idempotency import IdempotentOrders, fingerprint
from ecommerce.services.reconciler import Reconciler

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])

# Bounded like the bigint column: a larger id is a 422, never a database error.
OrderId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Order id.")]

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe key: the same key and body answer the same, once.",
    ),
]


def get_reconciler(request: Request) -> Reconciler:
    reconciler: Reconciler = request.state.reconciler
    return reconciler


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
        GatewayError,
        GatewayUnavailable,
        GatewayTimeout,
    ),
)
async def create_order(
    body: OrderCreate,
    request: Request,
    user: CurrentUser,
    database: DatabaseDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    reconciler = get_reconciler(request)

    async def place(on_created: checkout.OnCreated | None = None) -> Any:
        return await checkout.place_order(
            database=database,
            gateway=gateway,
            settings=settings,
            user_id=user.id,
            request=body,
            on_created=on_created,
            on_unknown_outcome=reconciler.wake_when_settleable,
        )

    if idempotency_key is None:
        return OrderRead.from_order(await place())
    runner = IdempotentOrders(
        database=database,
        wait_seconds=settings.payment_gateway_timeout + 5,
        lease=timedelta(seconds=max(60.0, 4 * settings.payment_gateway_timeout)),
    )
    answer = await runner.run(
        user_id=user.id,
        key=idempotency_key,
        print_=fingerprint("POST", "/api/v1/orders", body.model_dump(mode="json")),
        place=place,
    )
    return JSONResponse(answer.body, status_code=answer.status_code)


@router.get(
    "",
    response_model=Page[OrderRead],
    summary="List your orders (an admin sees everyone's)",
    responses=error_responses(NotAuthenticated, InvalidInput),
)
async def list_orders(session: SessionDep, user: CurrentUser, page: PageParams) -> Page[OrderRead]:
    rows, next_cursor = await order_service.list_visible(session, user, page)
    return Page(items=[OrderRead.from_order(order) for order in rows], next_cursor=next_cursor)


@router.get(
    "/{id}",
    response_model=OrderRead,
    summary="Get one of your orders",
    responses=error_responses(NotAuthenticated, NotFound),
)
async def get_order(order_id: OrderId, session: SessionDep, user: CurrentUser) -> OrderRead:
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
    return OrderRead.from_order(await order_service.cancel(database, gateway, user, order_id))


@router.post(
    "/{id}/ship",
    response_model=OrderRead,
    summary="Mark a paid order shipped (admin)",
    responses=error_responses(NotAuthenticated, Forbidden, NotFound, Conflict),
)
async def ship_order(order_id: OrderId, session: SessionDep, _: AdminUser) -> OrderRead:
    return OrderRead.from_order(await order_service.ship(session, order_id))
