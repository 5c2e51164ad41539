"""Settles what a checkout or a cancel left unknown, by asking the gateway.

- A ``pending`` order whose charge outcome is unknown: if the gateway holds a charge
  with the order's idempotency key the order becomes ``paid``, otherwise
  ``payment_failed`` with its stock back.
- A cancel whose refund was not confirmed: the refund is sent again with the same key
  (the gateway answers with the same refund), then the order becomes ``cancelled``.
- A failed order that holds money (``refund_due``: a charge recorded late, or a 2xx
  charge that was not the order's): the refund is sent until the gateway confirms it.
- A failed order whose charge was not found is asked about again at growing intervals
  (``ECOMMERCE_LATE_CHARGE_RECHECKS``): a gateway may record a charge after we gave up;
  what turns up is refunded, counted (``orphan_charges_total``) and logged as an error.
- Idempotency keys past their retention are purged.

Every worker of every machine runs one; claims use ``FOR UPDATE SKIP LOCKED`` plus a
lease, and every move is conditional, so running many at once settles each order once.
It keeps going whatever fails: the gateway or the database being down only delays it.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import DomainError, GatewayRejected, ServiceUnavailable
from ecommerce.models import Order, OrderStatus
from ecommerce.models.order import PaymentStatus
from ecommerce.repositories import idempotency as idempotency_keys
from ecommerce.repositories import order as orders
from ecommerce.services import order_state, orphan_refund
from ecommerce.services.cancellation import send_refund
from ecommerce.services.checkout import charge_mismatch
from ecommerce.services.order_state import OrderEvent
from ecommerce.services.payment import PaymentGateway

logger = logging.getLogger(__name__)

# Gateway calls and the database work that follows them, at once per worker: bounded so
# a backlog cannot take the whole pool from the worker's requests.
CONCURRENT_SETTLEMENTS = 4
# Claimed per kind per sweep: no more than settle at once, so every claim is worked on
# straight away, well inside its lease (a lease that ran out lets others ask twice).
BATCH_SIZE = CONCURRENT_SETTLEMENTS
MAX_PURGE_BATCHES = 100


class Settlement(enum.StrEnum):
    """What settling one claimed order came to."""

    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"
    UNRESOLVED = "unresolved"  # left for a later sweep (gateway or database failing)
    RECHECKED = "rechecked"  # a failed order's charge looked for again, none found


@dataclass
class SweepResult:
    paid: int = 0
    failed: int = 0
    refunded: int = 0
    rechecked: int = 0
    unresolved: int = 0
    purged_keys: int = 0
    claimed: int = 0

    def count(self, outcome: Settlement) -> None:
        match outcome:
            case Settlement.PAID:
                self.paid += 1
            case Settlement.FAILED:
                self.failed += 1
            case Settlement.REFUNDED:
                self.refunded += 1
            case Settlement.UNRESOLVED:
                self.unresolved += 1
            case Settlement.RECHECKED:
                self.rechecked += 1


class Reconciler:
    def __init__(self, database: Database, gateway: PaymentGateway, settings: Settings) -> None:
        self.database = database
        self.gateway = gateway
        self.settings = settings
        # A checkout that answered "unknown" (502/503/504) is over: one gateway timeout
        # after that answer, the gateway has had its full chance to record the charge.
        self.grace = timedelta(seconds=settings.payment_gateway_timeout)
        # A checkout that never answered (its worker died, or it is still waiting on the
        # database after the charge): its charge call started right after the order was
        # written and ended within one timeout; one more covers a slow gateway.
        self.unanswered_grace = 2 * self.grace + timedelta(seconds=1)
        # A claimed re-check is left alone this long (the lookup takes one timeout at most).
        self.recheck_lease = 4 * settings.payment_gateway_timeout + 5
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(CONCURRENT_SETTLEMENTS)

    def wake_after(self, seconds: float) -> None:
        """Sweep sooner than the interval: an order becomes settleable at that moment."""
        asyncio.get_running_loop().call_later(seconds, self._wake.set)

    def wake_when_settleable(self) -> None:
        self.wake_after(self.grace.total_seconds() + 0.05)

    async def run(self) -> None:
        while True:
            # Cleared before the sweep: a wake-up that arrives during it is not lost.
            self._wake.clear()
            try:
                result = await self.sweep()
                if result != SweepResult():
                    logger.info("reconciler sweep: %s", result)
                if result.claimed and result.unresolved == 0:
                    continue  # a backlog being worked off: no pause while it moves
            except (ServiceUnavailable, SQLAlchemyError, OSError) as error:
                # The database away or busy: expected during an outage, no stack trace.
                first_line = str(error).splitlines()[0][:200] if str(error) else ""
                logger.warning(
                    "reconciler sweep failed (%s: %s); retrying next interval",
                    type(error).__name__,
                    first_line,
                )
            except Exception:
                logger.exception("reconciler sweep failed; retrying next interval")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.reconcile_interval):
                    await self._wake.wait()

    async def sweep(self) -> SweepResult:
        result = SweepResult()
        async with self.database.transaction() as session:
            unknown = await orders.claim_stale(
                session,
                status=OrderStatus.PENDING,
                payment_status={PaymentStatus.UNKNOWN},
                older_than=self.grace,
                limit=BATCH_SIZE,
            )
            unknown += await orders.claim_stale(
                session,
                status=OrderStatus.PENDING,
                payment_status={None, PaymentStatus.CHARGING},
                older_than=self.unanswered_grace,
                limit=BATCH_SIZE,
            )
            refunding = await orders.claim_stale(
                session,
                status=OrderStatus.PAID,
                payment_status={PaymentStatus.REFUND_PENDING},
                older_than=self.grace,
                limit=BATCH_SIZE,
            )
            owed = await orders.claim_stale(
                session,
                status=OrderStatus.PAYMENT_FAILED,
                payment_status={PaymentStatus.REFUND_DUE},
                older_than=self.grace,
                limit=BATCH_SIZE,
            )
            rechecks = await orders.claim_rechecks(
                session, lease=self.recheck_lease, limit=BATCH_SIZE
            )
        result.claimed = len(unknown) + len(refunding) + len(owed) + len(rechecks)
        outcomes = await asyncio.gather(
            *(self._settle_charge(order) for order in unknown),
            *(self._complete_refund(order) for order in refunding),
            *(self._refund_orphan(order) for order in owed),
            *(self._recheck(order) for order in rechecks),
            return_exceptions=True,  # one failure must not abandon the others mid-way
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                logger.warning("settling failed (%r); the lease expires and it is retried", outcome)
                outcome = Settlement.UNRESOLVED
            result.count(outcome)
        async with self.database.session() as session:
            metrics.record_unsettled_ages(await orders.oldest_unsettled(session))
        retention = timedelta(hours=self.settings.idempotency_key_ttl_hours)
        for _ in range(MAX_PURGE_BATCHES):
            async with self.database.transaction() as session:
                purged = await idempotency_keys.purge(session, older_than=retention)
            result.purged_keys += purged
            if purged < idempotency_keys.PURGE_BATCH:
                break
        return result

    async def _settle_charge(self, order: Order) -> Settlement:
        async with self._limit:
            return await self._settle_charge_now(order)

    async def _settle_charge_now(self, order: Order) -> Settlement:
        if order.total == 0:  # a free order is never charged: nothing to ask, it is paid
            async with self.database.transaction() as session:
                paid = await order_state.settle_paid(session, order.id, None)
            return Settlement.PAID if paid is not None else Settlement.UNRESOLVED
        try:
            charge = await self.gateway.find_charge(order_state.charge_key(order.payment_key))
        except DomainError as error:
            logger.warning("order %s: gateway lookup failed (%s)", order.id, error.detail)
            return Settlement.UNRESOLVED
        mismatch = None if charge is None else charge_mismatch(charge, order)
        async with self.database.transaction() as session:
            if charge is not None and mismatch is not None:
                # Money was taken, but not this order's payment: fail it, refund it.
                settled = await order_state.fail_invalid_charge(session, order.id, charge.id)
                outcome = Settlement.FAILED
            elif charge is not None:
                settled = await order_state.settle_paid(session, order.id, charge.id) is not None
                outcome = Settlement.PAID
            else:
                settled = await order_state.settle_failed(
                    session,
                    order.id,
                    OrderEvent.CHARGE_NOT_FOUND,
                    recheck_after=self.settings.late_charge_rechecks[0],
                )
                outcome = Settlement.FAILED
        if settled and charge is not None and mismatch is not None:
            orphan_refund.report(order, "mismatch", charge)
            await orphan_refund.refund(self.database, self.gateway, order, charge)
        if settled:
            logger.info("order %s settled as %s by the reconciler", order.id, outcome)
        return outcome if settled else Settlement.UNRESOLVED

    async def _complete_refund(self, order: Order) -> Settlement:
        async with self._limit:
            try:
                refund_id = await send_refund(self.gateway, order)
            except GatewayRejected as error:
                logger.error(
                    "order %s: the gateway refused its refund for good (%s); it stays paid",
                    order.id,
                    error.detail,
                )
                async with self.database.transaction() as session:
                    await order_state.release_refund(session, order.id)
                return Settlement.UNRESOLVED
            except DomainError as error:
                logger.warning("order %s: refund retry failed (%s)", order.id, error.detail)
                return Settlement.UNRESOLVED
            async with self.database.transaction() as session:
                done = await order_state.complete_refund(session, order.id, refund_id)
        return Settlement.REFUNDED if done else Settlement.UNRESOLVED

    async def _refund_orphan(self, order: Order) -> Settlement:
        async with self._limit:
            done = await orphan_refund.refund(self.database, self.gateway, order)
        return Settlement.REFUNDED if done else Settlement.UNRESOLVED

    async def _recheck(self, order: Order) -> Settlement:
        """Ask the gateway again about a failed order's charge (it may be late)."""
        async with self._limit:
            try:
                charge = await self.gateway.find_charge(order_state.charge_key(order.payment_key))
            except DomainError as error:
                logger.warning("order %s: late-charge re-check failed (%s)", order.id, error)
                return Settlement.UNRESOLVED  # the claim's lease runs out: asked again
            delays = self.settings.late_charge_rechecks
            async with self.database.transaction() as session:
                if charge is None:
                    made = order.rechecks + 1
                    after = delays[made] - delays[made - 1] if made < len(delays) else None
                    await orders.schedule_recheck(session, order.id, rechecks=made, after=after)
                    return Settlement.RECHECKED
                moved = await order_state.late_charge_found(session, order.id, charge.id)
            if not moved:
                return Settlement.UNRESOLVED
            orphan_refund.report(order, "late", charge)
            done = await orphan_refund.refund(self.database, self.gateway, order, charge)
            return Settlement.REFUNDED if done else Settlement.UNRESOLVED
