"""Password change and token revocation over HTTP against PostgreSQL."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.models import User
from ecommerce.services import credentials
from ecommerce.services.user import AdminOutcome, ensure_admin
from tests.conftest import make_settings
from tests.support.auth import CUSTOMER_EMAIL, DEFAULT_PASSWORD, login
from tests.support.gateway import FakeGateway

ME = "/api/v1/users/me"
CHANGE = "/api/v1/users/me/password"
NEW_PASSWORD = "a brand new passphrase"
MAX_FAILURES = 3


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        login_max_failures=MAX_FAILURES,
    )


async def test_change_password_revokes_older_tokens(
    client: AsyncClient, customer_user: User
) -> None:
    first = await login(client, CUSTOMER_EMAIL)
    second = await login(client, CUSTOMER_EMAIL)
    response = await client.post(
        CHANGE,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=first,
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    for headers in (first, second):
        refused = await client.get(ME, headers=headers)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    old = await client.post(
        "/api/v1/auth/token", data={"username": CUSTOMER_EMAIL, "password": DEFAULT_PASSWORD}
    )
    assert old.status_code == 401
    fresh = await login(client, CUSTOMER_EMAIL, NEW_PASSWORD)
    me = await client.get(ME, headers=fresh)
    assert me.status_code == 200
    assert me.json()["email"] == CUSTOMER_EMAIL


async def test_wrong_current_password_is_403_and_changes_nothing(
    client: AsyncClient, customer_user: User
) -> None:
    headers = await login(client, CUSTOMER_EMAIL)
    response = await client.post(
        CHANGE,
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 403
    assert response.json() == {"detail": credentials.WRONG_CURRENT_PASSWORD}
    assert (await client.get(ME, headers=headers)).status_code == 200
    await login(client, CUSTOMER_EMAIL)  # the old password still works


async def test_wrong_current_passwords_are_throttled_like_sign_in(
    client: AsyncClient, customer_user: User
) -> None:
    headers = await login(client, CUSTOMER_EMAIL)
    body = {"current_password": "not the password", "new_password": NEW_PASSWORD}
    codes = [(await client.post(CHANGE, json=body, headers=headers)).status_code for _ in range(3)]
    assert codes == [403] * MAX_FAILURES
    throttled = await client.post(
        CHANGE,
        json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    # The same budget as sign-in: the account's sign-in is throttled too.
    response = await client.post(
        "/api/v1/auth/token", data={"username": CUSTOMER_EMAIL, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 429


async def test_change_password_needs_a_token_and_a_valid_new_password(
    client: AsyncClient, customer_user: User
) -> None:
    body = {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    assert (await client.post(CHANGE, json=body)).status_code == 401
    headers = await login(client, CUSTOMER_EMAIL)
    short = await client.post(
        CHANGE,
        json={"current_password": DEFAULT_PASSWORD, "new_password": "Xq7zP"},
        headers=headers,
    )
    assert short.status_code == 422
    assert "Xq7zP" not in short.text  # the submitted value is never echoed


async def test_reset_password_workflow_revokes_tokens(
    client: AsyncClient, resources: Resources, customer_user: User
) -> None:
    headers = await login(client, CUSTOMER_EMAIL)
    await credentials.reset_password(resources.database, customer_user.id, NEW_PASSWORD)
    assert (await client.get(ME, headers=headers)).status_code == 401
    await login(client, CUSTOMER_EMAIL, NEW_PASSWORD)


async def test_revoke_tokens_step(
    client: AsyncClient, resources: Resources, customer_user: User
) -> None:
    headers = await login(client, CUSTOMER_EMAIL)
    async with resources.database.transaction() as session:
        await credentials.revoke_tokens(session, customer_user.id)
    assert (await client.get(ME, headers=headers)).status_code == 401
    assert (await client.get(ME, headers=await login(client, CUSTOMER_EMAIL))).status_code == 200


async def test_admin_password_reset_revokes_tokens(
    client: AsyncClient, admin_engine: AsyncEngine, customer_user: User
) -> None:
    headers = await login(client, CUSTOMER_EMAIL)
    async with AsyncSession(admin_engine) as session:
        outcome = await ensure_admin(
            session, CUSTOMER_EMAIL, NEW_PASSWORD, reset_password=True, promote_existing=True
        )
        await session.commit()
    assert outcome is AdminOutcome.PASSWORD_RESET
    assert (await client.get(ME, headers=headers)).status_code == 401
    fresh = await login(client, CUSTOMER_EMAIL, NEW_PASSWORD)
    assert (await client.get(ME, headers=fresh)).json()["is_admin"] is True


async def test_a_token_without_a_version_is_refused_after_a_change(
    client: AsyncClient, admin_engine: AsyncEngine, customer_user: User, settings: Settings
) -> None:
    from datetime import UTC, datetime, timedelta

    import jwt

    now = datetime.now(UTC)
    legacy = jwt.encode(
        {"sub": str(customer_user.id), "iat": now, "exp": now + timedelta(minutes=5)},
        settings.signing_key(),
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {legacy}"}
    assert (await client.get(ME, headers=headers)).status_code == 200  # version 0
    async with admin_engine.begin() as conn:
        await conn.execute(
            text('UPDATE "user" SET token_version = token_version + 1 WHERE id = :id'),
            {"id": customer_user.id},
        )
    assert (await client.get(ME, headers=headers)).status_code == 401
