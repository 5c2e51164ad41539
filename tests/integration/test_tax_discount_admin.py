"""Admin routes of tax rates and discount codes, over HTTP against PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

RATES = "/api/v1/admin/tax-rates"
DISCOUNTS = "/api/v1/admin/discounts"


async def test_tax_rate_set_list_replace_delete(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    put = await client.put(
        f"{RATES}/de", json={"rate_bps": 1900, "name": "MwSt"}, headers=admin_headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["country"] == "DE"
    assert put.json()["rate_bps"] == 1900
    again = await client.put(f"{RATES}/DE", json={"rate_bps": 700}, headers=admin_headers)
    assert again.status_code == 200
    assert again.json()["id"] == put.json()["id"]
    assert again.json()["rate_bps"] == 700 and again.json()["name"] is None
    await client.put(f"{RATES}/US", json={"rate_bps": 1075}, headers=admin_headers)

    listed = await client.get(RATES, headers=admin_headers)
    assert listed.status_code == 200
    assert [(r["country"], r["rate_bps"]) for r in listed.json()["items"]] == [
        ("DE", 700),
        ("US", 1075),
    ]

    deleted = await client.delete(f"{RATES}/de", headers=admin_headers)
    assert deleted.status_code == 204
    assert (await client.delete(f"{RATES}/DE", headers=admin_headers)).status_code == 404
    listed = await client.get(RATES, headers=admin_headers)
    assert [r["country"] for r in listed.json()["items"]] == ["US"]


@pytest.mark.parametrize(
    ("country", "body"),
    [
        ("DE", {"rate_bps": -1}),
        ("DE", {"rate_bps": 10001}),
        ("DE", {"rate_bps": 19.5}),
        ("DE", {"rate_bps": "1900"}),
        ("DE", {}),
        ("XX", {"rate_bps": 1900}),
        ("DEU", {"rate_bps": 1900}),
        ("D1", {"rate_bps": 1900}),
        ("DE", {"rate_bps": 1900, "name": "bad\x00name"}),
    ],
)
async def test_invalid_tax_rates_are_422(
    client: AsyncClient, admin_headers: dict[str, str], country: str, body: dict[str, Any]
) -> None:
    response = await client.put(f"{RATES}/{country}", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert (await client.get(RATES, headers=admin_headers)).json()["items"] == []


async def test_admin_only(client: AsyncClient, customer_headers: dict[str, str]) -> None:
    assert (await client.get(RATES)).status_code == 401
    assert (await client.get(RATES, headers=customer_headers)).status_code == 403
    put = await client.put(f"{RATES}/DE", json={"rate_bps": 1}, headers=customer_headers)
    assert put.status_code == 403
    post = await client.post(
        DISCOUNTS, json={"code": "X", "kind": "fixed", "value": 1}, headers=customer_headers
    )
    assert post.status_code == 403


async def test_discount_create_read_list_patch(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = {
        "code": "Summer10",
        "kind": "percent",
        "value": 1000,
        "min_subtotal": 2000,
        "starts_at": "2026-06-01T00:00:00Z",
        "ends_at": "2026-09-01T00:00:00Z",
        "usage_limit": 100,
        "per_customer_limit": 1,
    }
    created = await client.post(DISCOUNTS, json=body, headers=admin_headers)
    assert created.status_code == 201, created.text
    discount = created.json()
    assert discount["code"] == "Summer10"
    assert discount["times_used"] == 0 and discount["is_active"] is True

    fetched = await client.get(f"{DISCOUNTS}/{discount['id']}", headers=admin_headers)
    assert fetched.json() == discount
    other = await client.post(
        DISCOUNTS, json={"code": "FIVEOFF", "kind": "fixed", "value": 500}, headers=admin_headers
    )
    assert other.json()["min_subtotal"] == 0 and other.json()["usage_limit"] is None
    listed = await client.get(DISCOUNTS, params={"limit": 1}, headers=admin_headers)
    assert [d["code"] for d in listed.json()["items"]] == ["Summer10"]
    rest = await client.get(
        DISCOUNTS, params={"cursor": listed.json()["next_cursor"]}, headers=admin_headers
    )
    assert [d["code"] for d in rest.json()["items"]] == ["FIVEOFF"]

    patched = await client.patch(
        f"{DISCOUNTS}/{discount['id']}",
        json={"is_active": False, "ends_at": None, "usage_limit": None},
        headers=admin_headers,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["is_active"] is False
    assert patched.json()["ends_at"] is None and patched.json()["usage_limit"] is None
    assert patched.json()["per_customer_limit"] == 1


async def test_codes_are_case_insensitive_and_unique(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await client.post(
        DISCOUNTS, json={"code": "WELCOME", "kind": "fixed", "value": 100}, headers=admin_headers
    )
    assert first.status_code == 201
    duplicate = await client.post(
        DISCOUNTS, json={"code": "welcome", "kind": "percent", "value": 5}, headers=admin_headers
    )
    assert duplicate.status_code == 409
    second = await client.post(
        DISCOUNTS, json={"code": "OTHER", "kind": "fixed", "value": 100}, headers=admin_headers
    )
    renamed = await client.patch(
        f"{DISCOUNTS}/{second.json()['id']}", json={"code": "Welcome"}, headers=admin_headers
    )
    assert renamed.status_code == 409
    same = await client.patch(
        f"{DISCOUNTS}/{first.json()['id']}", json={"code": "Welcome"}, headers=admin_headers
    )
    assert same.status_code == 200 and same.json()["code"] == "Welcome"


@pytest.mark.parametrize(
    "body",
    [
        {"code": "P", "kind": "percent", "value": 10001},
        {"code": "P", "kind": "percent", "value": -5},
        {"code": "P", "kind": "fixed", "value": 0},
        {"code": "P", "kind": "fixed", "value": 1.5},
        {"code": "P", "kind": "bogus", "value": 10},
        {"code": "", "kind": "fixed", "value": 10},
        {"code": "has space", "kind": "fixed", "value": 10},
        {"code": "P", "kind": "fixed", "value": 10, "min_subtotal": -1},
        {"code": "P", "kind": "fixed", "value": 10, "usage_limit": 0},
        {"code": "P", "kind": "fixed", "value": 10, "per_customer_limit": -1},
        {
            "code": "P",
            "kind": "fixed",
            "value": 10,
            "starts_at": "2026-09-01T00:00:00Z",
            "ends_at": "2026-06-01T00:00:00Z",
        },
        {"code": "P", "kind": "fixed", "value": 10, "starts_at": "2026-09-01T00:00:00"},
        {"code": "P", "kind": "fixed", "value": 10, "times_used": 3},
    ],
)
async def test_invalid_discounts_are_422(
    client: AsyncClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.post(DISCOUNTS, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert (await client.get(DISCOUNTS, headers=admin_headers)).json()["items"] == []


async def test_invalid_patches_are_422_and_change_nothing(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        DISCOUNTS,
        json={
            "code": "TEN",
            "kind": "fixed",
            "value": 50000,
            "starts_at": "2026-06-01T00:00:00Z",
        },
        headers=admin_headers,
    )
    url = f"{DISCOUNTS}/{created.json()['id']}"
    for patch in (
        {"kind": "percent"},  # 50000 bps would be 500 %
        {"ends_at": "2026-05-01T00:00:00Z"},
        {"value": None},
        {"times_used": 0},
    ):
        response = await client.patch(url, json=patch, headers=admin_headers)
        assert response.status_code == 422, (patch, response.text)
    assert (await client.get(url, headers=admin_headers)).json() == created.json()
    assert (await client.get(f"{DISCOUNTS}/999", headers=admin_headers)).status_code == 404
    missing = await client.patch(f"{DISCOUNTS}/999", json={"value": 1}, headers=admin_headers)
    assert missing.status_code == 404
