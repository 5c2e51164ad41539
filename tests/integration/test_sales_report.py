"""GET /api/v1/admin/reports/sales: figures against orders placed in the test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.main import create_app
from ecommerce.models import OrderStatus, User
from tests.conftest import make_settings
from tests.support.factories import CatalogProduct, add_order, create_product

URL = "/api/v1/admin/reports/sales"
MARCH = {"start": "2025-03-01", "end": "2025-04-01"}


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests write old orders straight into the tables, some of them pending; the
    # reconciler would (rightly) settle those while the test reads them.
    return settings.model_copy(update={"reconciler_enabled": False})


@pytest.fixture
async def products(admin_engine: AsyncEngine) -> dict[str, CatalogProduct]:
    return {
        "mug": await create_product(admin_engine, "MUG-01", "Mug", 1000),
        "pen": await create_product(admin_engine, "PEN-01", "Pen", 250),
        "lamp": await create_product(admin_engine, "LAMP-01", "Lamp", 5000),
    }


@pytest.fixture
async def march_orders(
    admin_engine: AsyncEngine, customer_user: User, products: dict[str, CatalogProduct]
) -> None:
    mug, pen, lamp = products["mug"], products["pen"], products["lamp"]

    async def order(status: OrderStatus, at: datetime, *lines: tuple[CatalogProduct, int]) -> None:
        await add_order(
            admin_engine, user_id=customer_user.id, status=status, created_at=at, lines=lines
        )

    # Sold in March (the first instant of the range is in, the last microsecond too).
    await order(OrderStatus.PAID, utc(2025, 3, 1), (mug, 2), (pen, 1))  # 2250
    await order(OrderStatus.SHIPPED, utc(2025, 3, 15, 12), (lamp, 1))  # 5000
    await order(OrderStatus.SHIPPED, utc(2025, 3, 31, 23, 59, 59, 999999), (pen, 4))  # 1000
    # Not sales: refunded, declined, still pending.
    await order(OrderStatus.CANCELLED, utc(2025, 3, 10), (mug, 5))
    await order(OrderStatus.PAYMENT_FAILED, utc(2025, 3, 11), (lamp, 3))
    await order(OrderStatus.PENDING, utc(2025, 3, 12), (mug, 1))
    # Outside March: the end is exclusive, the day before is before.
    await order(OrderStatus.PAID, utc(2025, 4, 1), (lamp, 10))
    await order(OrderStatus.SHIPPED, utc(2025, 2, 28, 23, 59, 59), (mug, 7))


async def test_figures_over_paid_and_shipped_orders(
    march_orders: None,
    products: dict[str, CatalogProduct],
    client: AsyncClient,
    admin_headers: dict[str, str],
) -> None:
    response = await client.get(URL, params=MARCH, headers=admin_headers)
    assert response.status_code == 200, response.text
    mug, pen, lamp = products["mug"], products["pen"], products["lamp"]
    assert response.json() == {
        "start": "2025-03-01",
        "end": "2025-04-01",
        "orders": 3,
        "units": 8,
        "revenue": 8250,
        "currency": "USD",
        # Orders written straight to the tables: not shipped, discounted or taxed.
        "subtotal": 8250,
        "discount_total": 0,
        "shipping_total": 0,
        "tax_total": 0,
        "top_products": [
            {"product_id": lamp.id, "sku": "LAMP-01", "units": 1, "revenue": 5000},
            {"product_id": mug.id, "sku": "MUG-01", "units": 2, "revenue": 2000},
            {"product_id": pen.id, "sku": "PEN-01", "units": 5, "revenue": 1250},
        ],
    }


async def test_limit_shortens_the_top_not_the_totals(
    march_orders: None, client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(URL, params={**MARCH, "limit": 2}, headers=admin_headers)
    body = response.json()
    assert (body["orders"], body["units"], body["revenue"]) == (3, 8, 8250)
    assert [p["sku"] for p in body["top_products"]] == ["LAMP-01", "MUG-01"]


@pytest.mark.parametrize(
    ("start", "end", "orders", "revenue"),
    [
        ("2025-03-31", "2025-04-01", 1, 1000),  # the last microsecond of March is in
        ("2025-04-01", "2025-04-02", 1, 50000),  # midnight belongs to the next day
        ("2025-02-28", "2025-03-01", 1, 7000),  # end exclusive: March 1st is out
        ("2025-02-01", "2025-05-01", 5, 65250),
    ],
)
async def test_days_are_utc_and_end_is_exclusive(
    march_orders: None,
    client: AsyncClient,
    admin_headers: dict[str, str],
    start: str,
    end: str,
    orders: int,
    revenue: int,
) -> None:
    response = await client.get(URL, params={"start": start, "end": end}, headers=admin_headers)
    assert response.status_code == 200
    assert (response.json()["orders"], response.json()["revenue"]) == (orders, revenue)


async def test_empty_range_is_all_zeros(
    march_orders: None, client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        URL, params={"start": "2024-01-01", "end": "2024-02-01"}, headers=admin_headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["orders"], body["units"], body["revenue"], body["top_products"]) == (0, 0, 0, [])


async def test_any_range_is_a_normal_request(
    march_orders: None, client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    lifetime = {"start": "0001-01-01", "end": "9999-12-31"}
    response = await client.get(URL, params=lifetime, headers=admin_headers)
    assert response.status_code == 200, response.text
    march = await client.get(URL, params=MARCH, headers=admin_headers)
    assert response.json()["orders"] >= march.json()["orders"] > 0


@pytest.mark.parametrize(
    "params",
    [
        {"start": "2025-03-01", "end": "2025-03-01"},  # empty: end must be after start
        {"start": "2025-03-02", "end": "2025-03-01"},
        {"start": "2025-13-01", "end": "2025-12-31"},
        {"start": "yesterday", "end": "2025-03-01"},
        {"start": "2025-03-01"},
        {**MARCH, "limit": 0},
        {**MARCH, "limit": 101},
    ],
)
async def test_bad_range_is_422(
    client: AsyncClient, admin_headers: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get(URL, params=params, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_bad_order_of_dates_says_why(
    client: AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(
        URL, params={"start": "2025-03-02", "end": "2025-03-01"}, headers=admin_headers
    )
    assert response.json() == {"detail": "end must be after start (end is exclusive)"}


async def test_currency_is_the_stores(
    database_url: str, admin_engine: AsyncEngine, admin_headers: dict[str, str]
) -> None:
    app = create_app(make_settings(database_url, currency="EUR"))
    async with (
        LifespanManager(app) as manager,
        AsyncClient(transport=ASGITransport(manager.app), base_url="http://test") as http,
    ):
        response = await http.get(URL, params=MARCH, headers=admin_headers)
    assert response.json()["currency"] == "EUR"


async def test_admins_only(client: AsyncClient, customer_headers: dict[str, str]) -> None:
    anonymous = await client.get(URL, params=MARCH)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    customer = await client.get(URL, params=MARCH, headers=customer_headers)
    assert customer.status_code == 403
    assert customer.json()["detail"]
