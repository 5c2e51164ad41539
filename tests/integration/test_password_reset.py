"""Password reset: 202 always, a single-use token by e-mail (real SMTP server),
older access tokens refused after it, throttled per address."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.support.events import delivering_settings, email_rows, eventually
from tests.support.gateway import FakeGateway
from tests.support.smtp import MailServer, html_body, mail_server, plain_body  # noqa: F401

RESET = "/api/v1/auth/password-reset"
CONFIRM = "/api/v1/auth/password-reset/confirm"
EMAIL = "reset-me@example.com"
OLD_PASSWORD = "the old passphrase"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def settings(
    database_url: str,
    fake_gateway: FakeGateway,
    mail_server: MailServer,  # noqa: F811
) -> Settings:
    return delivering_settings(
        database_url,
        fake_gateway,
        mail_server,
        password_reset_max_requests=3,
        password_reset_url="https://shop.example.com/reset",
    )


async def sign_up(client: AsyncClient, email: str = EMAIL) -> dict[str, str]:
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": OLD_PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    return await sign_in(client, email, OLD_PASSWORD)


async def sign_in(client: AsyncClient, email: str, password: str) -> dict[str, str]:
    token = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def token_in(body: str) -> str:
    match = re.search(r"https://shop\.example\.com/reset\?token=[A-Za-z0-9_%-]+", body)
    assert match, body
    return parse_qs(urlsplit(match.group()).query)["token"][0]


async def test_the_reset_mail_carries_a_token_that_works_once(
    client: AsyncClient,
    mail_server: MailServer,  # noqa: F811
) -> None:
    old_headers = await sign_up(client)
    assert (await client.post(RESET, json={"email": EMAIL.upper()})).status_code == 202
    (message,) = await mail_server.wait_for(1)
    assert message["To"] == EMAIL and message["Subject"] == "Reset your password"
    token = token_in(plain_body(message))
    assert token_in(html_body(message)) == token

    assert (
        await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    ).status_code == 204
    # Every token issued before the reset is refused; the new password works.
    assert (await client.get("/api/v1/users/me", headers=old_headers)).status_code == 401
    fresh = await sign_in(client, EMAIL, NEW_PASSWORD)
    assert (await client.get("/api/v1/users/me", headers=fresh)).status_code == 200
    old = await client.post(
        "/api/v1/auth/token", data={"username": EMAIL, "password": OLD_PASSWORD}
    )
    assert old.status_code == 401
    # Used once: the same token again is 422.
    again = await client.post(CONFIRM, json={"token": token, "password": "yet another one!"})
    assert again.status_code == 422
    assert "token" in again.json()["detail"]


async def test_an_unknown_address_is_202_and_nothing_is_sent(
    client: AsyncClient,
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
) -> None:
    response = await client.post(RESET, json={"email": "nobody@example.com"})
    assert response.status_code == 202
    assert response.content == b""
    assert await email_rows(admin_engine) == []
    assert mail_server.messages == []


async def test_unknown_and_expired_tokens_are_422(
    client: AsyncClient,
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
) -> None:
    await sign_up(client)
    bogus = await client.post(CONFIRM, json={"token": "made-up", "password": NEW_PASSWORD})
    assert bogus.status_code == 422
    assert (await client.post(RESET, json={"email": EMAIL})).status_code == 202
    token = token_in(plain_body((await mail_server.wait_for(1))[0]))
    async with admin_engine.begin() as conn:
        await conn.execute(
            text("UPDATE password_reset_token SET expires_at = now() - interval '1 second'")
        )
    expired = await client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert expired.status_code == 422
    await sign_in(client, EMAIL, OLD_PASSWORD)  # nothing changed
    short = await client.post(CONFIRM, json={"token": token, "password": "short"})
    assert short.status_code == 422


async def test_a_reset_retires_the_other_outstanding_tokens(
    client: AsyncClient,
    mail_server: MailServer,  # noqa: F811
) -> None:
    await sign_up(client)
    for _ in range(2):
        assert (await client.post(RESET, json={"email": EMAIL})).status_code == 202
    first, second = (token_in(plain_body(m)) for m in await mail_server.wait_for(2))
    assert first != second
    assert (
        await client.post(CONFIRM, json={"token": second, "password": NEW_PASSWORD})
    ).status_code == 204
    late = await client.post(CONFIRM, json={"token": first, "password": "someone else's!"})
    assert late.status_code == 422


async def test_resets_are_throttled_per_address(
    client: AsyncClient,
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
) -> None:
    await sign_up(client)
    await sign_up(client, "other@example.com")
    for _ in range(5):
        assert (await client.post(RESET, json={"email": EMAIL})).status_code == 202
    assert (await client.post(RESET, json={"email": "other@example.com"})).status_code == 202

    async def all_sent() -> bool:
        rows = await email_rows(admin_engine)
        return len(rows) == 4 and all(row.status == "sent" for row in rows)

    await eventually(all_sent)
    recipients = sorted(str(message["To"]) for message in await mail_server.wait_for(4))
    # Three for the throttled address (ECOMMERCE_PASSWORD_RESET_MAX_REQUESTS), one for
    # the other: a flood of one address does not stop another's.
    assert recipients == ["other@example.com", EMAIL, EMAIL, EMAIL]
    # Once sent, the token is no longer in the e-mail row.
    assert all(row.context == {} for row in await email_rows(admin_engine))
