"""The pricing module: the golden cases of the contract and properties over random carts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecommerce.services.pricing import (
    BPS,
    DiscountRule,
    PriceLine,
    ShippingRate,
    Totals,
    allocate,
    compute_totals,
    round_half_up,
)


def test_golden_tax_excluded_with_taxed_shipping() -> None:
    totals = compute_totals(
        [PriceLine(unit_price=2499, quantity=1)],
        shipping=ShippingRate(price=644),
        tax_rate_bps=1075,
    )
    assert totals.lines[0].tax_amount == 269  # 2499 * 10.75 % = 268.64…
    assert totals.shipping_tax == 69  # 644 * 10.75 % = 69.23
    assert totals.tax_total == 338
    assert totals.total == 3481


def test_golden_prices_include_tax() -> None:
    totals = compute_totals(
        [PriceLine(unit_price=1999, quantity=1)], tax_rate_bps=1900, prices_include_tax=True
    )
    line = totals.lines[0]
    assert line.tax_amount == 319
    assert line.line_total - line.discount_amount - line.tax_amount == 1680  # the net price
    assert totals.total == 1999


def test_round_half_up_rounds_halves_up() -> None:
    assert round_half_up(5, 10) == 1
    assert round_half_up(4, 10) == 0
    assert round_half_up(15, 10) == 2
    assert round_half_up(25, 10) == 3  # not banker's rounding
    with pytest.raises(ValueError):
        round_half_up(-1, 10)


def test_discount_spread_by_largest_remainder() -> None:
    # 100 off 3 equal lines: 33.33 each, the first line takes the leftover cent.
    totals = compute_totals(
        [PriceLine(1000, 1), PriceLine(1000, 1), PriceLine(1000, 1)],
        discount=DiscountRule("fixed", 100),
    )
    assert [p.discount_amount for p in totals.lines] == [34, 33, 33]
    assert allocate(10, [1, 2, 7]) == (1, 2, 7)
    assert allocate(5, [1, 1, 1, 1]) == (2, 1, 1, 1)


def test_fixed_discount_capped_and_shipping_never_discounted() -> None:
    totals = compute_totals(
        [PriceLine(500, 2)], discount=DiscountRule("fixed", 5000), shipping=ShippingRate(700)
    )
    assert totals.discount_total == 1000
    assert totals.shipping_total == 700
    assert totals.total == 700


def test_free_over_compares_the_discounted_subtotal() -> None:
    lines = [PriceLine(5000, 1)]
    rate = ShippingRate(price=499, free_over=5000)
    assert compute_totals(lines, shipping=rate).shipping_total == 0
    discounted = compute_totals(lines, shipping=rate, discount=DiscountRule("percent", 1000))
    assert discounted.discount_total == 500
    assert discounted.shipping_total == 499


def test_untaxed_shipping() -> None:
    totals = compute_totals(
        [PriceLine(1000, 1)], shipping=ShippingRate(500), tax_rate_bps=2000, tax_shipping=False
    )
    assert totals.shipping_tax == 0
    assert totals.tax_total == 200
    assert totals.total == 1700


def test_percent_discount_of_everything() -> None:
    totals = compute_totals(
        [PriceLine(333, 3), PriceLine(1, 1)],
        discount=DiscountRule("percent", BPS),
        tax_rate_bps=1900,
    )
    assert totals.discount_total == totals.subtotal == 1000
    assert totals.tax_total == 0
    assert totals.total == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tax_rate_bps": -1},
        {"tax_rate_bps": BPS + 1},
        {"discount": DiscountRule("percent", BPS + 1)},
        {"discount": DiscountRule("fixed", -1)},
        {"shipping": ShippingRate(-1)},
    ],
)
def test_invalid_inputs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        compute_totals([PriceLine(100, 1)], **kwargs)  # type: ignore[arg-type]


def test_empty_cart_is_zero() -> None:
    totals = compute_totals(
        [], discount=DiscountRule("fixed", 100), shipping=ShippingRate(0), tax_rate_bps=1900
    )
    assert totals == Totals((), 0, 0, 0, 0, 0, 0)


lines_strategy = st.lists(
    st.builds(
        PriceLine,
        unit_price=st.integers(min_value=0, max_value=1_000_000),
        quantity=st.integers(min_value=1, max_value=1000),
    ),
    max_size=12,
)
discount_strategy = (
    st.none()
    | st.builds(DiscountRule, kind=st.just("percent"), value=st.integers(0, BPS))
    | st.builds(DiscountRule, kind=st.just("fixed"), value=st.integers(0, 10_000_000))
)
shipping_strategy = st.none() | st.builds(
    ShippingRate,
    price=st.integers(0, 100_000),
    free_over=st.none() | st.integers(0, 1_000_000),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=lines_strategy,
    discount=discount_strategy,
    shipping=shipping_strategy,
    rate=st.integers(0, BPS),
    include=st.booleans(),
    tax_shipping=st.booleans(),
)
def test_totals_properties(
    lines: list[PriceLine],
    discount: DiscountRule | None,
    shipping: ShippingRate | None,
    rate: int,
    include: bool,
    tax_shipping: bool,
) -> None:
    t = compute_totals(
        lines,
        discount=discount,
        shipping=shipping,
        tax_rate_bps=rate,
        prices_include_tax=include,
        tax_shipping=tax_shipping,
    )
    amounts = [t.subtotal, t.discount_total, t.shipping_total, t.shipping_tax, t.tax_total, t.total]
    for p in t.lines:
        amounts += [p.line_total, p.discount_amount, p.tax_amount]
    # Whole minor units, never negative.
    assert all(type(a) is int and a >= 0 for a in amounts)
    # The parts add up to the totals.
    assert len(t.lines) == len(lines)
    assert sum(p.line_total for p in t.lines) == t.subtotal
    assert sum(p.discount_amount for p in t.lines) == t.discount_total
    assert sum(p.tax_amount for p in t.lines) + t.shipping_tax == t.tax_total
    for line, p in zip(lines, t.lines, strict=True):
        assert p.line_total == line.unit_price * line.quantity
        assert p.discount_amount <= p.line_total
        if include:
            assert p.tax_amount <= p.line_total - p.discount_amount
    # A discount never exceeds the subtotal; shipping is never discounted.
    assert t.discount_total <= t.subtotal
    if shipping is not None:
        assert t.shipping_total in (0, shipping.price)
        free = (
            shipping.free_over is not None and t.subtotal - t.discount_total >= shipping.free_over
        )
        assert t.shipping_total == (0 if free else shipping.price)
    if not tax_shipping:
        assert t.shipping_tax == 0
    # The contract's formula for what is charged.
    expected = t.subtotal - t.discount_total + t.shipping_total
    if not include:
        expected += t.tax_total
    assert t.total == expected
    # The line tax is the rounded-half-up tax of the discounted line, per line.
    for p in t.lines:
        base = p.line_total - p.discount_amount
        exact_num = base * rate
        exact_den = BPS + rate if include else BPS
        assert abs(2 * p.tax_amount * exact_den - 2 * exact_num) <= exact_den


@settings(max_examples=300, deadline=None)
@given(
    amount=st.integers(0, 10_000_000),
    weights=st.lists(st.integers(0, 10_000_000), min_size=1, max_size=20),
)
def test_allocate_properties(amount: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        amount = 0
    amount = min(amount, sum(weights))
    parts = allocate(amount, weights)
    assert sum(parts) == amount
    total = sum(weights) or 1
    for part, weight in zip(parts, weights, strict=True):
        assert 0 <= part <= weight
        # Each part is within one cent of its exact share.
        assert abs(part * total - amount * weight) < total
