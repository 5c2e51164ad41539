"""The HTTP half of Idempotency-Key: one dependency for every route that places an order.

``IdempotencyDep`` reads the header and fingerprints the request (method, the path the
client called, the body); ``run`` does the work once under the key and stores its
answer. A replay is raised as ``ReplayedAnswer`` and written out by its exception
handler exactly as it was stored, so the route itself has one response path, through
its ``response_model``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import orjson
from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.core.errors import DomainError, PaymentDeclined
from ecommerce.models import Order, OrderStatus
from ecommerce.schemas.order import OrderRead
from ecommerce.services.checkout import OnCreated
from ecommerce.services.idempotency import Hold, IdempotencyStore, StoredAnswer, fingerprint

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry-safe key: the same key and body answer the same, once.",
    ),
]

# Places the order; called at most once per key, with the step that links the key to it.
PlaceOrder = Callable[[OnCreated | None], Awaitable[Order]]


class ReplayedAnswer(Exception):
    """The answer stored under an Idempotency-Key, to be sent again as it was."""

    def __init__(self, answer: StoredAnswer) -> None:
        super().__init__(answer.status_code)
        self.answer = answer


async def _replay(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ReplayedAnswer)
    return JSONResponse(exc.answer.body, status_code=exc.answer.status_code)


def install_replay_handler(app: FastAPI) -> None:
    app.add_exception_handler(ReplayedAnswer, _replay)


def order_answer(order: Order) -> StoredAnswer:
    """The 201 a placed order answers, as JSON exactly as the route serializes it."""
    read = OrderRead.from_order(order).model_dump(mode="json")
    return StoredAnswer(201, orjson.loads(orjson.dumps(read)))


def error_answer(error: DomainError) -> StoredAnswer:
    """What the domain-error handler answers for ``error``."""
    return StoredAnswer(error.status_code, {"detail": error.detail, **error.extra})


def answer_from_order(order: Order) -> StoredAnswer | None:
    """What a retry learns from an order whose first answer was lost; None: not settled."""
    if order.status == OrderStatus.PENDING:
        return None
    if order.status == OrderStatus.PAYMENT_FAILED:
        return error_answer(PaymentDeclined("The payment failed", order_id=order.id))
    return order_answer(order)


class IdempotentCheckout:
    """This request's Idempotency-Key (or none) and the store that keeps its answers."""

    def __init__(self, store: IdempotencyStore, key: str | None, method: str, path: str) -> None:
        self.store = store
        self.key = key
        self.method = method
        self.path = path

    async def run(
        self, *, user_id: int | None, body: BaseModel, place: PlaceOrder, cart_id: str | None = None
    ) -> Order:
        """Place the order once for this key; a replay raises ``ReplayedAnswer``.

        Keys are scoped to the user; a guest's (``user_id`` None) to ``cart_id``.
        """
        if self.key is None:
            return await place(None)
        print_ = fingerprint(self.method, self.path, body.model_dump(mode="json"))
        claimed = await self.store.acquire(
            user_id=user_id, cart_id=cart_id, key=self.key, print_=print_
        )
        if isinstance(claimed, StoredAnswer):
            raise ReplayedAnswer(claimed)
        if claimed.order_id is not None:
            # Its first holder died after creating the order: answer from the order.
            raise ReplayedAnswer(await self.store.answer_linked(claimed, answer_from_order))
        return await self._place(claimed, place)

    async def _place(self, hold: Hold, place: PlaceOrder) -> Order:
        linked = False

        async def link(session: AsyncSession, order_id: int) -> None:
            nonlocal linked
            await self.store.link(session, hold, order_id)
            linked = True

        try:
            order = await place(link)
        except DomainError as error:
            # Replayed as it was once an order exists (a 502/503/504 names it; its settled
            # state is at GET /orders/{id}) or when it is the request's own fault (4xx). A
            # 5xx before any order ("database busy") is transient: the key is freed, so
            # the client's retry places the order then.
            keep = linked or error.status_code < 500
            await self.store.finish(hold, error_answer(error) if keep else None)
            raise
        except BaseException:
            # Unexpected failure or cancellation: free the key (a linked order is kept and
            # reported to the next retry; without one the retry places the order anew).
            await self.store.finish(hold, None)
            raise
        await self.store.finish(hold, order_answer(order))
        return order


async def get_idempotent_checkout(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> IdempotentCheckout:
    store = IdempotencyStore(
        database, wait_seconds=settings.idempotency_wait, lease=settings.idempotency_lease
    )
    # The path the client called, not a template: the same key on two carts is two requests.
    return IdempotentCheckout(store, idempotency_key, request.method, request.url.path)


IdempotencyDep = Annotated[IdempotentCheckout, Depends(get_idempotent_checkout)]
