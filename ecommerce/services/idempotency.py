"""The Idempotency-Key store (brandur's Stripe-like design, in PostgreSQL).

A key is scoped to its user and bound to a fingerprint of the request. The first request
claims it (``INSERT ... ON CONFLICT DO NOTHING``), links the order it creates in the
same transaction, and stores its answer. Later requests with the key:

- a different body: 422;
- an answer stored: replay it (same status, same body);
- still in flight elsewhere: wait for it (up to a bound), then replay, or 409;
- no answer but an order linked (the holder died after creating it): the caller answers
  from the order as it stands now, never a second order or charge;
- nothing linked and nobody holding it (the holder died before creating the order):
  take it over and place the order.

This module keeps answers as plain status codes and JSON bodies; turning them into HTTP
responses, and deciding what an order means as an answer, is api/idempotency.py's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import anyio
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.database import Database
from ecommerce.core.errors import Conflict, InvalidInput
from ecommerce.models import Order
from ecommerce.repositories import idempotency as keys
from ecommerce.repositories import order as orders
from ecommerce.repositories.idempotency import Hold as Hold  # re-exported for api/

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
MAX_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class StoredAnswer:
    """The first answer given under a key, replayed as it was."""

    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(f"{method} {path}\n".encode() + canonical).hexdigest()


@dataclass
class IdempotencyStore:
    database: Database
    wait_seconds: float  # how long a duplicate waits for the first request's answer
    lease: timedelta  # after this, a holder that never answered is presumed dead

    async def acquire(
        self, *, user_id: int | None, key: str, print_: str, cart_id: str | None = None
    ) -> Hold | StoredAnswer:
        """The key held by us (do the work; when ``hold.order_id`` is set, a previous
        holder died after creating its order and the answer comes from that order), or
        the stored answer to replay. Waits for another holder; 409 once the wait is over.
        """
        deadline = time.monotonic() + self.wait_seconds
        poll = POLL_SECONDS
        async with self.database.transaction() as session:
            hold = await keys.claim(
                session, user_id=user_id, cart_id=cart_id, key=key, fingerprint=print_
            )
        if hold is not None:
            return hold
        while True:
            outcome = await self._existing(user_id, cart_id, key, print_)
            if outcome is not None:
                return outcome
            if time.monotonic() >= deadline:
                raise Conflict("A request with this Idempotency-Key is still in progress")
            await asyncio.sleep(poll)
            poll = min(poll * 2, MAX_POLL_SECONDS)  # a retry storm must not eat the pool

    async def _existing(
        self, user_id: int | None, cart_id: str | None, key: str, print_: str
    ) -> Hold | StoredAnswer | None:
        """The answer to replay, or the key held by us now, or None: somebody holds it."""
        async with self.database.transaction() as session:
            row = await keys.find(session, user_id=user_id, cart_id=cart_id, key=key)
            if row is None:  # purged since our first try: claim it afresh
                return await keys.claim(
                    session, user_id=user_id, cart_id=cart_id, key=key, fingerprint=print_
                )
            if row.fingerprint != print_:
                raise InvalidInput("This Idempotency-Key was used with a different request body")
            if row.response_status is not None:
                return StoredAnswer(row.response_status, row.response_body)
            # The linked order id comes back with the take-over itself: a link made just
            # before cannot be missed.
            return await keys.take_over(session, row.id, lease=self.lease)

    async def answer_linked(
        self, hold: Hold, answer_for: Callable[[Order], StoredAnswer | None]
    ) -> StoredAnswer:
        """A previous holder died after creating its order: the answer is what the order
        says now (``answer_for``), stored under the key. Reading the order and storing
        (or freeing) the key are one transaction, so a failure here frees the key.

        Raises Conflict (409) while the order's payment is still being settled.
        """
        assert hold.order_id is not None
        try:
            async with self.database.transaction() as session:
                order = await orders.get(session, hold.order_id)
                answer = answer_for(order) if order is not None else None
                if answer is not None:
                    await keys.store_answer(session, hold, answer.status_code, answer.body)
                    return answer
                await keys.release(session, hold)
        except BaseException:
            await self.finish(hold, None)  # the transaction rolled back: free the key
            raise
        raise Conflict(
            f"The payment of order {hold.order_id} is still being settled; "
            "retry later or fetch the order",
            order_id=hold.order_id,
        )

    @staticmethod
    async def link(session: AsyncSession, hold: Hold, order_id: int) -> None:
        """Link the order being created to the key, in the order's own transaction."""
        if not await keys.link_order(session, hold, order_id):
            # Our lease ran out and another request took the key over: this order must
            # not exist beside theirs. Raising rolls back its stock reservation.
            raise Conflict("This Idempotency-Key was taken over by a later request")

    async def finish(self, hold: Hold, answer: StoredAnswer | None) -> None:
        """Store the answer, or free the key (None). Never masks the request's own
        outcome: if the database fails here too, the lease runs out and a retry takes over.
        """
        try:
            with anyio.CancelScope(shield=True):
                async with self.database.transaction() as session:
                    if answer is None:
                        await keys.release(session, hold)
                    else:
                        await keys.store_answer(session, hold, answer.status_code, answer.body)
        except Exception:
            logger.exception("could not record the outcome of an Idempotency-Key")
