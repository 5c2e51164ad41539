"""Test data, one way to make each kind: users, products, orders, and rows made older.

Two routes, chosen by what the test is about:

- Through the API (``new_customer``, ``new_product``, ``order_body``, ``place_order``):
  what a client does, validation and all; needs the ``client`` fixture.
- Straight into the database (``create_user``, ``create_product``, ``insert_products``,
  ``add_order``): for what the API cannot make (old orders, any status), or would make
  slowly (argon2, thousands of rows). They take an engine (``admin_engine``: committed,
  for tests on the real commit path) or a session (``db_session``: flushed only, rolled
  back after the test).

The ``age_*`` helpers move timestamps back, as if time had gone by.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from ecommerce.core import security
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.security import hash_password
from ecommerce.devtools.bulk_copy import (
    ORDER_COLUMNS,
    ORDER_LINE_COLUMNS,
    copy_records,
    reserve_ids,
)
from ecommerce.devtools.synthetic_orders import seed_synthetic_orders
from ecommerce.models import IdempotencyKey, Order, OrderStatus, Product, User
from ecommerce.repositories.user import insert_user

Db = AsyncEngine | AsyncSession
DEFAULT_PASSWORD = "correct horse battery"

_numbers = itertools.count(1)
# Hashing is slow on purpose; the same password hashes once per test session (and hasher:
# the conftest makes tests hash at a low cost, except where a test asks for the real one).
_hashes: dict[tuple[object, str], str] = {}


@asynccontextmanager
async def _session(db: Db) -> AsyncIterator[AsyncSession]:
    """The caller's session (flushed), or a new one on the engine (committed)."""
    if isinstance(db, AsyncSession):
        yield db
        await db.flush()
        return
    async with AsyncSession(db, expire_on_commit=False) as session:
        yield session
        await session.commit()


@asynccontextmanager
async def _connection(db: Db) -> AsyncIterator[AsyncConnection]:
    """The caller's session's connection, or a new one on the engine (committed)."""
    if isinstance(db, AsyncSession):
        yield await db.connection()
        return
    async with db.connect() as conn:
        yield conn
        await conn.commit()


# --- users


async def create_user(
    db: Db,
    email: str,
    password: str = DEFAULT_PASSWORD,
    is_admin: bool = False,
    full_name: str | None = None,
) -> User:
    """Insert a user straight into the database and return it."""
    key = (security._password_hash, password)
    if key not in _hashes:
        _hashes[key] = await hash_password(password)
    async with _session(db) as session:
        user = await insert_user(
            session,
            email=email,
            hashed_password=_hashes[key],
            full_name=full_name,
            is_admin=is_admin,
        )
    assert user is not None, f"{email} exists already"
    return user


async def new_customer(client: AsyncClient, name: str | None = None) -> dict[str, str]:
    """Register a customer through the API and return its Authorization header."""
    email = f"{name or 'customer'}-{next(_numbers)}@example.com"
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    token = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD}
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


# --- products


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    sku: str
    name: str
    price: int


async def new_product(
    client: AsyncClient, admin: dict[str, str], *, stock: int = 0, **fields: Any
) -> dict[str, Any]:
    """Create a product through the API (``POST /products``); unique sku and name unless
    given. Any other field of the request body can be passed."""
    number = next(_numbers)
    body = {"sku": f"SKU-{number}", "name": f"Product {number}", "price": 1000, "stock": stock}
    response = await client.post("/api/v1/products", headers=admin, json=body | fields)
    assert response.status_code == 201, response.text
    product: dict[str, Any] = response.json()
    return product


async def create_product(
    db: Db, sku: str, name: str, price: int, *, stock: int = 100
) -> CatalogProduct:
    """One product straight into the table."""
    async with _session(db) as session:
        product = Product(sku=sku, name=name, price=price, currency="USD", stock=stock)
        session.add(product)
        await session.flush()
    return CatalogProduct(product.id, sku, name, price)


async def insert_products(db: Db, count: int, inactive_every: int = 0) -> None:
    """``count`` products named "Product N" with skus SKU-00000N, in one statement;
    every ``inactive_every``-th one inactive."""
    async with _connection(db) as conn:
        await conn.execute(
            text(
                "INSERT INTO product (sku, name, price, currency, stock, is_active) "
                "SELECT 'SKU-' || lpad(i::text, 6, '0'), 'Product ' || i, 100 + i, 'USD', 5, "
                "NOT (:every > 0 AND i % greatest(:every, 1) = 0) "
                "FROM generate_series(1, :count) AS i"
            ),
            {"count": count, "every": inactive_every},
        )


# --- orders


def order_body(*lines: tuple[int, int], token: str = "tok_visa") -> dict[str, Any]:
    """The body of ``POST /orders``: (product id, quantity) lines and a card token."""
    return {
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
        "payment_token": token,
    }


async def place_order(
    client: AsyncClient,
    headers: dict[str, str],
    *lines: tuple[int, int],
    token: str = "tok_visa",
    expected: Sequence[int] = (201, 402),
) -> Response:
    """Check out through the API; the answer must have one of the ``expected`` codes."""
    response = await client.post(
        "/api/v1/orders", headers=headers, json=order_body(*lines, token=token)
    )
    assert response.status_code in expected, response.text
    return response


async def add_order(
    db: Db,
    *,
    user_id: int,
    status: OrderStatus,
    created_at: datetime,
    lines: Sequence[tuple[CatalogProduct, int]],
) -> int:
    """Insert one order with its lines (at the products' prices), at any time and status.

    Through the same bulk repository the history generator uses (id reserved from the
    sequence, binary COPY). Returns the order's id.
    """
    async with _connection(db) as conn:
        [order_id] = await reserve_ids(conn, "order", 1)
        total = sum(product.price * quantity for product, quantity in lines)
        paid = status in (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.CANCELLED)
        payment = (f"ch_test_{order_id}", "succeeded") if paid else (None, None)
        order = (
            order_id,
            user_id,
            str(status),
            total,
            "USD",
            *payment,
            None,
            created_at,
            created_at,
            total,  # the subtotal: not shipped, discounted or taxed
        )
        await copy_records(conn, "order", ORDER_COLUMNS, [order])
        await copy_records(
            conn,
            "order_line",
            ORDER_LINE_COLUMNS,
            [
                (order_id, p.id, p.sku, p.name, p.price, quantity, p.price * quantity)
                for p, quantity in lines
            ],
        )
    return int(order_id)


async def add_pending_order(db: Db, user_id: int) -> int:
    """A bare pending order with no lines (a row for a foreign key to point at)."""
    async with _connection(db) as conn:
        order_id = await conn.scalar(
            text(
                'INSERT INTO "order" (user_id, status, total, currency) '
                "VALUES (:user, 'pending', 0, 'USD') RETURNING id"
            ),
            {"user": user_id},
        )
    assert order_id is not None
    return int(order_id)


async def seed_history(settings: Settings, count: int, *, customers: int = 20) -> None:
    """``count`` orders of generated history over the catalog there is (deterministic)."""
    assert settings.database_url is not None
    database = Database.connect(settings, settings.database_url)
    try:
        await seed_synthetic_orders(database, count, currency="USD", customers=customers, seed=1)
    finally:
        await database.dispose()


# --- ageing rows


async def age_orders(db: Db, age: timedelta, *, status: OrderStatus | None = None) -> None:
    """Set ``updated_at`` of every order (or of those in ``status``) to ``age`` ago: past
    the reconciler's grace period, past a lease."""
    statement = update(Order).values(updated_at=func.now() - age)
    if status is not None:
        statement = statement.where(Order.status == status)
    async with _connection(db) as conn:
        await conn.execute(statement)


async def age_idempotency_keys(
    db: Db, *, created: timedelta | None = None, locked: timedelta | None = None
) -> None:
    """Set idempotency keys' ``created_at`` (retention) and/or ``locked_at`` (lease) back."""
    values = {}
    if created is not None:
        values["created_at"] = func.now() - created
    if locked is not None:
        values["locked_at"] = func.now() - locked
    assert values, "nothing to age"
    async with _connection(db) as conn:
        await conn.execute(update(IdempotencyKey).values(values))
