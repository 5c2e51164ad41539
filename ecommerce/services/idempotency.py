"""Idempotency-Key for order placement (brandur's Stripe-like design, in PostgreSQL).

A key is scoped to its user and bound to a fingerprint of the request. The first request
claims it (``INSERT ... ON CONFLICT DO NOTHING``), links the order it creates in the
same transaction, and stores its answer. Later requests with the key:

- a different body: 422;
- an answer stored: replay it (same status, same body);
- still in flight elsewhere: wait for it (up to a bound), then replay, or 409;
- no answer but an order linked (the holder died after creating it): answer from the
  order as it stands now, never a second order or charge;
- nothing linked and nobody holding it (the holder died before creating the order):
  take it over and place the order.

Every answer is stored and replayed as it was, errors included: a 502/503/504 names the
order, whose settled state ``GET /orders/{id}`` shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.database import Database
from ecommerce.core.errors import Conflict, DomainError, InvalidInput, PaymentDeclined
from ecommerce.models import Order, OrderStatus
from ecommerce.repositories import idempotency as keys
from ecommerce.repositories import order as orders
from ecommerce.schemas.order import OrderRead

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


def order_answer(order: Order) -> Answer:
    return Answer(
        201, orjson.loads(orjson.dumps(OrderRead.from_order(order).model_dump(mode="json")))
    )


def error_answer(error: DomainError) -> Answer:
    return Answer(error.status_code, {"detail": error.detail, **error.extra})


def answer_from_order(order: Order) -> Answer | None:
    """What a retry learns from an order whose first answer was not final; None: not yet."""
    if order.status == OrderStatus.PENDING:
        return None
    if order.status == OrderStatus.PAYMENT_FAILED:
        return error_answer(PaymentDeclined("The payment failed", order_id=order.id))
    return order_answer(order)


PlaceOrder = Callable[[Callable[[AsyncSession, int], Awaitable[None]]], Awaitable[Order]]


@dataclass
class IdempotentOrders:
    database: Database
    wait_seconds: float  # how long a duplicate waits for the first request's answer
    lease: timedelta  # after this, a holder that never answered is presumed dead

    async def run(self, *, user_id: int, key: str, print_: str, place: PlaceOrder) -> Answer:
        deadline = time.monotonic() + self.wait_seconds
        poll = POLL_SECONDS
        async with self.database.session() as session:
            hold = await keys.claim(session, user_id=user_id, key=key, fingerprint=print_)
            await session.commit()
        while hold is None:
            outcome = await self._existing(user_id, key, print_)
            if isinstance(outcome, Answer):
                return outcome
            hold = outcome
            if hold is None:
                if time.monotonic() >= deadline:
                    raise Conflict("A request with this Idempotency-Key is still in progress")
                await asyncio.sleep(poll)
                poll = min(poll * 2, MAX_POLL_SECONDS)  # a retry storm must not eat the pool
        return await self._place(hold, place)

    async def _existing(self, user_id: int, key: str, print_: str) -> Answer | keys.Hold | None:
        """The answer to replay, or the key held by us now (placing is ours), or None: wait."""
        async with self.database.session() as session:
            row = await keys.find(session, user_id=user_id, key=key)
            if row is None:  # purged since our first try: claim it afresh
                hold = await keys.claim(session, user_id=user_id, key=key, fingerprint=print_)
                await session.commit()
                return hold
            if row.fingerprint != print_:
                raise InvalidInput("This Idempotency-Key was used with a different request body")
            if row.response_status is not None:
                return Answer(row.response_status, row.response_body)
            hold = await keys.take_over(session, row.id, lease=self.lease)
            if hold is None:
                return None  # someone holds it: wait
            if row.order_id is None:
                await session.commit()
                return hold
            # Its holder died after creating the order: answer from the order as it is.
            order = await orders.get(session, row.order_id)
            answer = answer_from_order(order) if order is not None else None
            if answer is None:
                await keys.release(session, hold)
                await session.commit()
                raise Conflict(
                    f"The payment of order {row.order_id} is still being settled; "
                    "retry later or fetch the order",
                    order_id=row.order_id,
                )
            await keys.store_answer(session, hold, answer.status_code, answer.body)
            await session.commit()
            return answer

    async def _place(self, hold: keys.Hold, place: PlaceOrder) -> Answer:
        linked = False

        async def link(session: AsyncSession, order_id: int) -> None:
            nonlocal linked
            if not await keys.link_order(session, hold, order_id):
                # Our lease ran out and another request took the key over: this order must
                # not exist beside theirs. Raising rolls back its stock reservation.
                raise Conflict("This Idempotency-Key was taken over by a later request")
            linked = True

        try:
            order = await place(link)
        except DomainError as error:
            # Replayed as it was once an order exists (a 502/503/504 names it; its settled
            # state is at GET /orders/{id}) or when it is the request's own fault (4xx). A
            # 5xx before any order ("database busy") is transient: the key is freed, so
            # the client's retry places the order then.
            keep = linked or error.status_code < 500
            await self._finish(hold, error_answer(error) if keep else None)
            raise
        except BaseException:
            # Unexpected failure or cancellation: free the key (a linked order is kept and
            # reported to the next retry; without one the retry places the order anew).
            await self._finish(hold, None)
            raise
        answer = order_answer(order)
        await self._finish(hold, answer)
        return answer

    async def _finish(self, hold: keys.Hold, answer: Answer | None) -> None:
        """Store the answer (or free the key). Never masks the request's own outcome: if
        the database fails here too, the lease simply runs out and a retry takes over."""
        try:
            with anyio.CancelScope(shield=True):
                async with self.database.session() as session:
                    if answer is None:
                        await keys.release(session, hold)
                    else:
                        await keys.store_answer(session, hold, answer.status_code, answer.body)
                    await session.commit()
        except Exception:
            logger.exception("could not record the outcome of an Idempotency-Key")
