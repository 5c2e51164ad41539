"""The demo catalog: realistic and deterministic."""

from __future__ import annotations

from ecommerce.devtools.demo_catalog import CATEGORIES, demo_products


def test_demo_catalog_is_deterministic_and_varied() -> None:
    rows = demo_products("USD")
    assert rows == demo_products("USD")
    assert 250 <= len(rows) <= 500
    assert len({r["sku"] for r in rows}) == len(rows)
    assert {r["sku"].split("-")[0] for r in rows} == {c.code for c in CATEGORIES}
    assert all(r["price"] > 0 and r["currency"] == "USD" for r in rows)
    assert any(r["stock"] == 0 for r in rows) and any(r["stock"] > 100 for r in rows)
    assert sum(r["is_active"] for r in rows) > 0.9 * len(rows)
