"""Sign-in for tests: ``login``, ``bearer`` and the user and header fixtures.

Import the fixtures in ``tests/conftest.py`` (one line). The header fixtures sign their
token with ``create_access_token``, the function the token endpoint itself uses, with
the test settings' secret: an argon2 verification per fixture would add a quarter of a
second to every test. Tests of sign-in itself go through ``login()`` over HTTP.
"""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.core.security import create_access_token
from ecommerce.models import User

# Re-exported: sign-in tests and older branches import them from here.
from tests.support.factories import DEFAULT_PASSWORD as DEFAULT_PASSWORD
from tests.support.factories import create_user as create_user

# What ``from tests.support.auth import *`` in conftest brings in: the fixtures.
__all__ = [
    "admin_headers",
    "admin_user",
    "customer_headers",
    "customer_user",
    "other_customer_headers",
    "other_customer_user",
]

ADMIN_EMAIL = "admin@example.com"
CUSTOMER_EMAIL = "customer@example.com"
OTHER_CUSTOMER_EMAIL = "other.customer@example.com"


async def login(
    client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    """Sign in through ``POST /api/v1/auth/token``; the Authorization header to send."""
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def bearer(user: User, settings: Settings) -> dict[str, str]:
    token, _ = create_access_token(user.id, settings, user.token_version)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def admin_user(admin_engine: AsyncEngine) -> User:
    return await create_user(admin_engine, ADMIN_EMAIL, is_admin=True, full_name="Admin")


@pytest.fixture
async def customer_user(admin_engine: AsyncEngine) -> User:
    return await create_user(admin_engine, CUSTOMER_EMAIL, full_name="Customer")


@pytest.fixture
async def other_customer_user(admin_engine: AsyncEngine) -> User:
    return await create_user(admin_engine, OTHER_CUSTOMER_EMAIL, full_name="Other Customer")


@pytest.fixture
def admin_headers(admin_user: User, settings: Settings) -> dict[str, str]:
    return bearer(admin_user, settings)


@pytest.fixture
def customer_headers(customer_user: User, settings: Settings) -> dict[str, str]:
    return bearer(customer_user, settings)


@pytest.fixture
def other_customer_headers(other_customer_user: User, settings: Settings) -> dict[str, str]:
    return bearer(other_customer_user, settings)
