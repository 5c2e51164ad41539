"""Orders: creation, conditional status moves, the reconciler's claims."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    bindparam,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from ecommerce.core.paging import PageRequest
from ecommerce.models import Order, OrderLine, OrderStatus
from ecommerce.repositories.pagination import paginate


def with_items() -> Select[Order]:
    return select(Order).options(selectinload(Order.items))


def payment_status_in(values: set[str | None]) -> ColumnElement[bool]:
    """``payment_status IN (...)``, where None in ``values`` stands for SQL NULL."""
    known = [value for value in values if value is not None]
    clauses = [Order.payment_status.in_(known)] if known else []
    if None in values:
        clauses.append(Order.payment_status.is_(None))
    return or_(*clauses)


async def get(session: AsyncSession, order_id: int) -> Order | None:
    # One order: its lines joined in the same statement (every checkout ends with this
    # read; pages of orders keep selectinload, one extra statement per page).
    result = await session.execute(
        select(Order)
        .options(joinedload(Order.items))
        .where(Order.id == order_id)
        .execution_options(populate_existing=True)
    )
    return result.unique().scalar_one_or_none()


# The columns of a new order and of its lines that ``add`` binds.
_ORDER_VALUES = ("user_id", "status", "currency", "total", "subtotal", "discount_total",
                 "shipping_total", "tax_total", "shipping_tax", "email", "shipping_address",
                 "billing_address", "shipping_method", "shipping_price", "discount_code",
                 "payment_key")  # fmt: skip
_LINE_VALUES = ("product_id", "sku", "name", "unit_price", "quantity", "line_total",
                "discount_amount", "tax_amount")  # fmt: skip


@cache
def _insert_statement(capped: bool) -> Select[Order]:
    """The INSERT of an order and its lines as one statement, built once per shape:
    building a statement of CTEs costs more than running it, so each call only binds.

    The lines come as one array per column, unnested with their position: one SQL text
    for any number of lines (one prepared statement).
    """
    table, line_table = Order.__table__, OrderLine.__table__
    row = select(
        *(bindparam(name, type_=table.c[name].type).label(name) for name in _ORDER_VALUES),
        # The moment of writing, not the transaction's start (``now()``), which may be long
        # before if the reservations waited on row locks: the reconciler's grace counts
        # from here, and the charge is sent right after the commit.
        func.clock_timestamp().label("updated_at"),
    )
    if capped:
        pending = (
            select(func.count())
            .where(Order.user_id == bindparam("user_id"), Order.status == OrderStatus.PENDING)
            .scalar_subquery()
        )
        row = row.where(pending < bindparam("pending_cap"))
    new_order = (
        insert(Order)
        .from_select([*_ORDER_VALUES, "updated_at"], row, include_defaults=False)
        .returning(*table.c)
        .cte("new_order")
    )
    given = (
        func.unnest(
            *(
                bindparam(f"lines_{name}", type_=ARRAY(line_table.c[name].type))
                for name in _LINE_VALUES
            )
        )
        .table_valued(*_LINE_VALUES, with_ordinality="position")
        .render_derived("given")
    )
    new_lines = (
        insert(OrderLine)
        .from_select(
            ["order_id", *_LINE_VALUES],
            select(new_order.c.id, *(given.c[name] for name in _LINE_VALUES))
            .select_from(new_order)
            .join(given, true())
            .order_by(given.c.position),  # ids in the order the lines were given
            include_defaults=False,
        )
        .returning(*line_table.c)
        .cte("new_lines")
    )
    order, line = aliased(Order, new_order), aliased(OrderLine, new_lines)
    return (
        select(order)
        .outerjoin(line, line.order_id == order.id)
        .options(contains_eager(order.items.of_type(line)))
        .order_by(line.id)
    )


async def add(
    session: AsyncSession,
    *,
    user_id: int | None,
    currency: str,
    lines: Sequence[OrderLine],
    total: int,
    subtotal: int,
    discount_total: int,
    shipping_total: int,
    tax_total: int,
    shipping_tax: int,
    email: str | None,
    shipping_address: dict[str, Any] | None,
    billing_address: dict[str, Any] | None,
    shipping_method: str | None,
    shipping_price: int | None,
    discount_code: str | None,
    pending_cap: int | None,
) -> Order | None:
    """Insert a ``pending`` order with its snapshot (services/order_snapshot.py) and its
    lines, in one statement; the order with its lines.

    Every amount is required: they come from the pricing module, and an order must never
    get a total of its own making here. ``pending_cap``: insert only if the user has fewer
    pending orders than this (else None; required, so that no caller forgets it: None
    for no cap). Exact only when the caller took ``pending_lock_key``'s lock in an
    earlier statement of the transaction: under READ COMMITTED this statement's snapshot
    is then taken after the lock was granted, so it sees every order committed by the
    checkout that held it. Taking the lock inside this statement would not do: its
    snapshot would be taken before the lock wait.
    """
    params: dict[str, Any] = {
        "user_id": user_id,
        "status": OrderStatus.PENDING.value,
        "currency": currency,
        "total": total,
        "subtotal": subtotal,
        "discount_total": discount_total,
        "shipping_total": shipping_total,
        "tax_total": tax_total,
        "shipping_tax": shipping_tax,
        "email": email,
        "shipping_address": shipping_address,
        "billing_address": billing_address,
        "shipping_method": shipping_method,
        "shipping_price": shipping_price,
        "discount_code": discount_code,
        "payment_key": uuid.uuid4(),
        "pending_cap": pending_cap,
    }
    for name in _LINE_VALUES:
        params[f"lines_{name}"] = [getattr(line, name) for line in lines]
    capped = pending_cap is not None and user_id is not None
    result = await session.execute(_insert_statement(capped), params)
    return result.unique().scalar_one_or_none()


def pending_lock_key(user_id: int) -> tuple[int, int]:
    """The per-user transaction lock under which ``add``'s ``pending_cap`` is exact:
    concurrent checkouts of one user insert one after the other (the two-int4 form of
    ``pg_advisory_xact_lock``; a collision of two users only makes them queue)."""
    return _PENDING_LOCK, user_id % 2_147_483_647


async def transition(
    session: AsyncSession,
    order_id: int,
    *,
    from_status: OrderStatus,
    from_payment: frozenset[str | None],
    to_status: OrderStatus,
    to_payment: str,
    clock: bool = False,
    with_items: bool = False,
    **values: Any,
) -> Order | None:
    """Move an order only if it is still where we think it is (compare-and-set); the
    order as after the move, or None when it was not there.

    A concurrent checkout, reconciler, cancel or ship that got there first makes this a
    no-op (None), so nothing is settled twice. ``clock``: stamp ``updated_at`` with the
    moment of writing rather than the transaction's start (a grace period counts from it).
    ``with_items``: the order's lines come with it, joined to the UPDATE in the same
    statement (what an event about the order needs), not read by a second one.
    """
    expressions = {name: v for name, v in values.items() if isinstance(v, ColumnElement)}
    shape = (from_status, from_payment, to_status, to_payment, clock, with_items)
    if expressions:  # an expression of its own (a rare move): built for this call
        statement = _build_transition(*shape, tuple(values.keys() - expressions), expressions)
    else:
        statement = _cached_transition(*shape, tuple(sorted(values)))
    params = {f"value_{name}": v for name, v in values.items() if name not in expressions}
    result = await session.execute(statement, {"order_id": order_id, **params})
    return result.unique().scalar_one_or_none()


@lru_cache(maxsize=128)
def _cached_transition(
    from_status: OrderStatus,
    from_payment: frozenset[str | None],
    to_status: OrderStatus,
    to_payment: str,
    clock: bool,
    with_items: bool,
    bound: tuple[str, ...],
) -> Select[Order]:
    """A move's statement, built once per move and shape (see ``_insert_statement``)."""
    return _build_transition(
        from_status, from_payment, to_status, to_payment, clock, with_items, bound, {}
    )


def _build_transition(
    from_status: OrderStatus,
    from_payment: frozenset[str | None],
    to_status: OrderStatus,
    to_payment: str,
    clock: bool,
    with_items: bool,
    bound: tuple[str, ...],
    expressions: dict[str, ColumnElement[Any]],
) -> Select[Order]:
    columns = Order.__table__.c
    moved = (
        update(Order)
        .where(
            Order.id == bindparam("order_id"),
            Order.status == from_status,
            payment_status_in(set(from_payment)),
        )
        .values(
            status=to_status,
            payment_status=to_payment,
            updated_at=func.clock_timestamp() if clock else func.now(),
            **{name: bindparam(f"value_{name}", type_=columns[name].type) for name in bound},
            **expressions,
        )
        .returning(*columns)
        .cte("moved")
    )
    order = aliased(Order, moved)
    statement = select(order)
    if with_items:
        # The order as after the move, lines loaded, even if the session holds it already.
        # Only here: refreshing a held order without its lines would unload them.
        statement = (
            statement.outerjoin(order.items)
            .options(contains_eager(order.items))
            .order_by(OrderLine.id)
            .execution_options(populate_existing=True)
        )
    return statement


async def line_quantities(session: AsyncSession, order_id: int) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(OrderLine.product_id, OrderLine.quantity).where(OrderLine.order_id == order_id)
    )
    return [(product_id, quantity) for product_id, quantity in rows]


async def claim_stale(
    session: AsyncSession,
    *,
    status: OrderStatus,
    payment_status: set[str | None],
    older_than: timedelta,
    limit: int,
) -> list[Order]:
    """Claim orders idle for ``older_than`` for settling, skipping ones others hold.

    The claim bumps ``updated_at``: a lease, so another worker or machine leaves them
    alone while this one talks to the gateway (outside any transaction), and picks them
    up again if this one dies.
    """
    clause = payment_status_in(payment_status)
    ids = (
        select(Order.id)
        .where(
            Order.status == status,
            clause,
            Order.updated_at < func.now() - older_than,
        )
        .order_by(Order.updated_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(Order)
        .where(Order.id.in_(ids))
        .values(updated_at=func.now())
        .returning(Order)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def page(
    session: AsyncSession, *, user_id: int | None, page: PageRequest
) -> tuple[list[Order], str | None]:
    statement = with_items()
    if user_id is not None:
        statement = statement.where(Order.user_id == user_id)
    return await paginate(session, statement, page, key=Order.id)


def in_seconds(seconds: float) -> ColumnElement[Any]:
    """``now() + seconds`` as SQL (the database's clock, like every other stamp)."""
    return func.now() + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


async def claim_rechecks(session: AsyncSession, *, lease: float, limit: int) -> list[Order]:
    """Claim failed orders whose late-charge re-check is due; the claim pushes
    ``recheck_at`` by ``lease`` so others leave them alone meanwhile."""
    ids = (
        select(Order.id)
        .where(Order.recheck_at.is_not(None), Order.recheck_at <= func.now())
        .order_by(Order.recheck_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(Order)
        .where(Order.id.in_(ids))
        .values(recheck_at=in_seconds(lease))
        .returning(Order)
        .execution_options(populate_existing=True)
    )
    return list(result.scalars())


async def schedule_recheck(
    session: AsyncSession, order_id: int, *, rechecks: int, after: float | None
) -> None:
    """Record one more re-check made; the next ``after`` seconds from now (None: done)."""
    await session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(rechecks=rechecks, recheck_at=None if after is None else in_seconds(after))
    )


# The advisory lock space of the per-user pending-order cap (an arbitrary constant).
_PENDING_LOCK = 0x5E7D


async def oldest_unsettled(session: AsyncSession) -> dict[str, float]:
    """Seconds since the oldest order in each unsettled state last moved (0: none)."""
    states = {
        "pending": Order.status == OrderStatus.PENDING,
        "refund_pending": Order.payment_status == "refund_pending",
        "refund_due": Order.payment_status == "refund_due",
        "refund_refused": Order.payment_status == "refund_refused",
    }
    ages: dict[str, float] = {}
    for name, clause in states.items():
        statement = select(
            func.coalesce(func.extract("epoch", func.now() - func.min(Order.updated_at)), 0)
        ).where(clause)
        ages[name] = float((await session.execute(statement)).scalar_one())
    return ages
