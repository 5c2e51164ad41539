"""Discount codes: admin CRUD, whether a code applies, and taking or giving back a use.

A code is checked twice. When a customer applies it (or places an order with it), every
reason it does not apply is a 422 naming the reason. When the order is placed, a use is
*taken* inside the order's transaction by a conditional update; if the code got used up
meanwhile that is a 409, raised before anything is charged. The use is given back when
the payment fails or the order is cancelled, exactly once (order_state releases it
through the repository's ``give_back``).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.errors import Conflict, InvalidInput, NotFound
from ecommerce.core.paging import PageRequest
from ecommerce.models import Discount
from ecommerce.repositories import discount as discount_repo
from ecommerce.repositories.pagination import paginate
from ecommerce.schemas.discount import DiscountCreate, DiscountUpdate, check_rule, check_window
from ecommerce.services.pricing import DiscountRule

DISCOUNT_NOT_FOUND = "Discount not found"


class Reason(enum.StrEnum):
    """Why a code does not apply; sent as ``reason`` next to ``detail``."""

    UNKNOWN = "unknown"
    INACTIVE = "inactive"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    USED_UP = "used_up"
    BELOW_MINIMUM = "below_minimum"


_MESSAGES = {
    Reason.UNKNOWN: "Unknown discount code",
    Reason.INACTIVE: "This discount code is not active",
    Reason.EXPIRED: "This discount code has expired",
    Reason.NOT_YET_VALID: "This discount code is not valid yet",
    Reason.USED_UP: "This discount code is used up",
}


class DiscountNotApplicable(InvalidInput):
    """422: the code does not apply to this cart or order; ``reason`` says why."""

    def __init__(self, reason: Reason, detail: str | None = None) -> None:
        super().__init__(detail or _MESSAGES[reason], reason=reason.value)
        self.reason = reason


_PER_CUSTOMER = "This discount code has been used as often as allowed by this customer"


class DiscountUsedUp(Conflict):
    """409 at checkout: the code's last use went to another order meanwhile."""

    def __init__(self, detail: str = "This discount code is used up") -> None:
        super().__init__(detail, reason=Reason.USED_UP.value)


class DiscountChanged(Conflict):
    """409 at checkout: an admin changed the code's terms after the order was priced."""

    def __init__(self) -> None:
        super().__init__(
            "The discount code's terms changed while the order was being placed; "
            "review the cart and check out again",
            reason="discount_changed",
        )


def rule_of(discount: Discount) -> DiscountRule:
    """What the pricing module needs of a code."""
    if discount.kind == "percent":
        return DiscountRule(kind="percent", value=discount.value)
    return DiscountRule(kind="fixed", value=discount.value)


def customer_key(user_id: int | None, email: str | None) -> str | None:
    """Who ``per_customer_limit`` counts: a signed-in buyer by account, a guest by e-mail.

    Whatever e-mail a signed-in customer puts on an order (me+1@..., me+2@...), their uses
    add up; and a guest giving a customer's address uses the guest's own allowance (the
    address, lower-cased), never the account's. ``user:<id>`` has no ``@``, so it never
    equals an address. None: a guest without an e-mail yet (nothing to count).
    """
    if user_id is not None:
        return f"user:{user_id}"
    return email.strip().lower() if email else None


async def create_discount(session: AsyncSession, data: DiscountCreate) -> Discount:
    discount = await discount_repo.insert_discount(session, **data.model_dump())
    if discount is None:
        raise Conflict("A discount with this code exists already (codes ignore case)")
    return discount


async def get_discount(session: AsyncSession, discount_id: int) -> Discount:
    discount = await discount_repo.get_discount(session, discount_id)
    if discount is None:
        raise NotFound(DISCOUNT_NOT_FOUND)
    return discount


async def list_discounts(
    session: AsyncSession, page: PageRequest
) -> tuple[list[Discount], str | None]:
    return await paginate(session, discount_repo.list_statement(), page)


async def update_discount(
    session: AsyncSession, discount_id: int, data: DiscountUpdate
) -> Discount:
    """Apply the sent fields; the result must still be a valid code (422), unique (409)."""
    current = await get_discount(session, discount_id)
    changes: dict[str, Any] = data.changes()
    if not changes:
        return current
    merged = {
        name: changes.get(name, getattr(current, name))
        for name in ("kind", "value", "starts_at", "ends_at")
    }
    try:
        check_rule(merged["kind"], merged["value"])
        check_window(merged["starts_at"], merged["ends_at"])
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    code = changes.get("code")
    duplicate = Conflict("A discount with this code exists already (codes ignore case)")
    if code is not None and await discount_repo.code_taken(session, code, other_than=discount_id):
        raise duplicate
    try:
        updated = await discount_repo.update_discount(session, discount_id, changes)
    except IntegrityError:  # a concurrent rename took the code between the check and here
        raise duplicate from None
    if updated is None:
        raise NotFound(DISCOUNT_NOT_FOUND)
    return updated


def _used_up(at_checkout: bool, detail: str | None = None) -> Exception:
    # At checkout a code used up is a conflict with the current state (409), raised before
    # anything is reserved or charged, whether this read or the atomic take found it so.
    if at_checkout:
        return DiscountUsedUp(detail or _MESSAGES[Reason.USED_UP])
    return DiscountNotApplicable(Reason.USED_UP, detail)


def check_applicable(
    discount: Discount | None,
    *,
    subtotal: int,
    now: datetime,
    customer_uses: int | None = None,
    at_checkout: bool = False,
) -> Discount:
    """``discount`` if it applies now to ``subtotal``; ``DiscountNotApplicable`` otherwise.

    ``at_checkout``: a code used up is ``DiscountUsedUp`` (409) rather than a 422, the
    same answer as when the atomic ``take_use`` finds it used up.
    """
    if discount is None:
        raise DiscountNotApplicable(Reason.UNKNOWN)
    if not discount.is_active:
        raise DiscountNotApplicable(Reason.INACTIVE)
    if discount.starts_at is not None and now < discount.starts_at:
        raise DiscountNotApplicable(Reason.NOT_YET_VALID)
    if discount.ends_at is not None and now >= discount.ends_at:
        raise DiscountNotApplicable(Reason.EXPIRED)
    if discount.usage_limit is not None and discount.times_used >= discount.usage_limit:
        raise _used_up(at_checkout)
    limit = discount.per_customer_limit
    if limit is not None and customer_uses is not None and customer_uses >= limit:
        raise _used_up(at_checkout, _PER_CUSTOMER)
    if subtotal < discount.min_subtotal:
        raise DiscountNotApplicable(
            Reason.BELOW_MINIMUM,
            f"This discount code needs a subtotal of at least {discount.min_subtotal}",
        )
    return discount


async def find_applicable(
    session: AsyncSession,
    code: str,
    *,
    subtotal: int,
    now: datetime,
    user_id: int | None = None,
    email: str | None = None,
    at_checkout: bool = False,
) -> Discount:
    """The discount ``code`` names, if it applies (see ``applicable``); else 422."""
    discount = await discount_repo.find_by_code(session, code)
    return await applicable(
        session,
        discount,
        subtotal=subtotal,
        now=now,
        user_id=user_id,
        email=email,
        at_checkout=at_checkout,
    )


async def applicable(
    session: AsyncSession,
    discount: Discount | None,
    *,
    subtotal: int,
    now: datetime,
    user_id: int | None = None,
    email: str | None = None,
    at_checkout: bool = False,
) -> Discount:
    """``discount`` (already read by its code) if it applies (``check_applicable``).

    ``user_id``: the signed-in buyer (their uses count), else ``email``: the guest's.
    """
    customer = customer_key(user_id, email)
    uses = None
    # At checkout ``take_use`` counts the customer's uses under the code's row lock (and
    # answers 409 the same way); counting them here too would only cost a statement.
    if (
        not at_checkout
        and discount is not None
        and discount.per_customer_limit is not None
        and customer is not None
    ):
        uses = await discount_repo.customer_uses(session, discount.id, customer)
    return check_applicable(
        discount, subtotal=subtotal, now=now, customer_uses=uses, at_checkout=at_checkout
    )


async def take_use(
    session: AsyncSession,
    *,
    discount_id: int,
    per_customer_limit: int | None,
    order_id: int,
    user_id: int | None,
    email: str | None,
    priced: DiscountRule,
    subtotal: int,
) -> None:
    """Take one use of the code for the order, in the order's transaction; else 409.

    ``priced``: the rule the order was priced with, on ``subtotal``. The take re-checks
    the code under its row lock: inactive or out of its window now → 422 with the reason,
    used up → 409, terms changed since the pricing (kind, value, a minimum above the
    subtotal) → 409 ``discount_changed``. On any of them the caller's transaction rolls
    back (the error leaves the transaction block), which also undoes the counted use.
    """
    customer = customer_key(user_id, email)
    if customer is None:
        raise InvalidInput("email: a guest order needs an e-mail address to use a discount code")
    terms = await discount_repo.take_use(session, discount_id)
    if terms is None:
        # Why, for the answer (this path only): what a fresh read of the code says.
        current = await discount_repo.get_discount(session, discount_id)
        check_applicable(current, subtotal=subtotal, now=datetime.now(UTC), at_checkout=True)
        raise DiscountUsedUp()
    if (terms.kind, terms.value) != (priced.kind, priced.value) or terms.min_subtotal > subtotal:
        raise DiscountChanged()
    recorded = await discount_repo.record_use(
        session,
        discount_id=discount_id,
        order_id=order_id,
        user_id=user_id,
        customer=customer,
        per_customer_limit=per_customer_limit,
    )
    if not recorded:
        raise DiscountUsedUp(_PER_CUSTOMER)
