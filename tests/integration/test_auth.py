"""Registration, sign-in and tokens over HTTP against PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core import security
from ecommerce.core.config import Settings
from ecommerce.models import User
from tests.support.auth import login
from tests.support.factories import DEFAULT_PASSWORD, create_user

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
ME = "/api/v1/users/me"


async def register(client: AsyncClient, email: str, password: str = DEFAULT_PASSWORD) -> int:
    response = await client.post(REGISTER, json={"email": email, "password": password})
    return response.status_code


def assert_401(response: Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


async def test_register_returns_the_user_without_the_hash(client: AsyncClient) -> None:
    response = await client.post(
        REGISTER,
        json={"email": "Ada@Example.com", "password": "12345678", "full_name": "Ada Lovelace"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "is_admin", "created_at"}
    assert body["email"] == "Ada@example.com"  # stored as given (the domain is normalised)
    assert body["full_name"] == "Ada Lovelace"
    assert body["is_admin"] is False
    assert datetime.fromisoformat(body["created_at"]).tzinfo is not None


async def test_register_duplicate_email_in_another_case_is_409(client: AsyncClient) -> None:
    assert await register(client, "grace@example.com") == 201
    response = await client.post(
        REGISTER, json={"email": "GRACE@EXAMPLE.COM", "password": "another password"}
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "This e-mail is already registered"}


async def test_concurrent_registrations_of_one_email_create_one_user(client: AsyncClient) -> None:
    emails = ["race@example.com", "RACE@example.com", "Race@Example.com", "rAce@example.com"]
    codes = await asyncio.gather(*(register(client, e) for e in emails))
    assert sorted(codes) == [201, 409, 409, 409]


async def test_register_refuses_unknown_fields_such_as_is_admin(client: AsyncClient) -> None:
    response = await client.post(
        REGISTER,
        json={"email": "mallory@example.com", "password": DEFAULT_PASSWORD, "is_admin": True},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "extra_forbidden"
    assert response.json()["detail"][0]["loc"] == ["body", "is_admin"]
    assert await register(client, "mallory@example.com") == 201  # nothing was created


async def test_register_validates_email_and_password(client: AsyncClient) -> None:
    short = await client.post(REGISTER, json={"email": "a@example.com", "password": "1234567"})
    assert short.status_code == 422
    assert "input" not in short.json()["detail"][0]  # the password is not echoed
    long = await client.post(REGISTER, json={"email": "a@example.com", "password": "x" * 129})
    assert long.status_code == 422
    bad_email = await client.post(REGISTER, json={"email": "nope", "password": DEFAULT_PASSWORD})
    assert bad_email.status_code == 422
    missing = await client.post(REGISTER, json={"email": "a@example.com"})
    assert missing.status_code == 422


async def test_token_then_me(client: AsyncClient, settings: Settings) -> None:
    assert await register(client, "Linus@example.com") == 201
    response = await client.post(
        TOKEN, data={"username": "linus@EXAMPLE.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.access_token_ttl
    me = await client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "Linus@example.com"
    assert me.json()["is_admin"] is False
    claims = jwt.decode(body["access_token"], settings.signing_key(), algorithms=["HS256"])
    assert claims["sub"] == str(me.json()["id"])
    assert claims["exp"] - claims["iat"] == settings.access_token_ttl


async def test_wrong_email_and_wrong_password_get_the_same_401(client: AsyncClient) -> None:
    assert await register(client, "known@example.com") == 201
    wrong_password = await client.post(
        TOKEN, data={"username": "known@example.com", "password": "wrong password"}
    )
    wrong_email = await client.post(
        TOKEN, data={"username": "unknown@example.com", "password": DEFAULT_PASSWORD}
    )
    for response in (wrong_password, wrong_email):
        assert_401(response)
    assert wrong_password.json() == wrong_email.json() == {"detail": "Incorrect email or password"}
    assert wrong_password.headers.get("content-type") == wrong_email.headers.get("content-type")


async def test_token_form_fields_are_required(client: AsyncClient) -> None:
    response = await client.post(TOKEN, data={"username": "a@example.com"})
    assert response.status_code == 422


async def test_me_without_a_token_is_401(client: AsyncClient) -> None:
    assert_401(await client.get(ME))
    assert_401(await client.get(ME, headers={"Authorization": "Basic abc"}))
    assert_401(await client.get(ME, headers={"Authorization": "Bearer not-a-jwt"}))


def _token(user_id: int, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {"sub": str(user_id), "iat": now, "exp": now + timedelta(minutes=5)}
    claims.update(overrides)
    return claims


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery
async def test_expired_tampered_and_unsigned_tokens_are_401(
    client: AsyncClient, settings: Settings, customer_user: User
) -> None:
    key = settings.signing_key()
    good = jwt.encode(_token(customer_user.id), key, algorithm="HS256")
    assert (await client.get(ME, headers={"Authorization": f"Bearer {good}"})).status_code == 200

    past = datetime.now(UTC) - timedelta(hours=2)
    expired = jwt.encode(
        _token(customer_user.id, iat=past, exp=past + timedelta(hours=1)),
        key,
        algorithm="HS256",
    )
    # Tampered: the payload now claims another user, the signature is the old one.
    header, _, signature = good.split(".")
    forged_payload = jwt.encode(_token(customer_user.id + 1), key).split(".")[1]
    tampered = f"{header}.{forged_payload}.{signature}"
    unsigned = jwt.encode(_token(customer_user.id), None, algorithm="none")
    other_key = jwt.encode(_token(customer_user.id), "another-secret-" * 4)
    other_alg = jwt.encode(_token(customer_user.id), key, algorithm="HS512")
    no_exp = jwt.encode({"sub": str(customer_user.id)}, key, algorithm="HS256")
    no_sub = jwt.encode(
        {"iat": datetime.now(UTC), "exp": datetime.now(UTC) + timedelta(minutes=5)}, key
    )
    gone_user = jwt.encode(_token(999_999), key, algorithm="HS256")

    for token in (expired, tampered, unsigned, other_key, other_alg, no_exp, no_sub, gone_user):
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert_401(response)
    expired_answer = await client.get(ME, headers={"Authorization": f"Bearer {expired}"})
    assert expired_answer.json() == {"detail": "Token has expired"}


async def test_login_helper_and_user_created_directly(
    client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    await create_user(admin_engine, "boss@example.com", is_admin=True)
    headers = await login(client, "BOSS@example.com")
    me = await client.get(ME, headers=headers)
    assert me.json()["is_admin"] is True


async def test_event_loop_serves_health_while_20_logins_hash(
    production_password_hashing: None, client: AsyncClient, admin_engine: AsyncEngine
) -> None:
    """Hashing runs in worker threads: while argon2 works, the loop keeps answering.

    Each /health/live answer records how many hashes were running in threads at that
    moment. Had hashing run on the loop, no request could complete while a hash ran,
    and the thread counter would stay at zero.
    """
    # One account per login: 19 wrong guesses on one account would trip its sign-in limit.
    for i in range(20):
        await create_user(admin_engine, f"busy{i}@example.com")
    logins = asyncio.gather(
        *(
            client.post(TOKEN, data={"username": f"busy{i}@example.com", "password": f"guess-{i}"})
            for i in range(19)
        ),
        client.post(TOKEN, data={"username": "busy19@example.com", "password": DEFAULT_PASSWORD}),
    )
    hashing_seen: list[int] = []
    while not logins.done():
        response = await client.get("/health/live")
        assert response.status_code == 200
        hashing_seen.append(security.hashing_in_progress())
        await asyncio.sleep(0.005)
    results = await logins
    assert [r.status_code for r in results] == [401] * 19 + [200]
    # Live answers came back while hashes were running off the loop, several at once.
    answered_during_hashing = [n for n in hashing_seen if n > 0]
    assert len(answered_during_hashing) >= 5, hashing_seen
    assert max(hashing_seen) >= 2
    assert security.hashing_in_progress() == 0


async def test_an_expired_token_does_not_stop_signing_in_again(
    client: AsyncClient, settings: Settings, customer_user: User
) -> None:
    # HTTP clients often keep sending the old token; sign-in and sign-up must ignore it.
    past = datetime.now(UTC) - timedelta(hours=2)
    stale = jwt.encode(
        _token(customer_user.id, iat=past, exp=past + timedelta(hours=1)),
        settings.signing_key(),
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {stale}"}
    token = await client.post(
        "/api/v1/auth/token",
        headers=headers,
        data={"username": customer_user.email, "password": DEFAULT_PASSWORD},
    )
    assert token.status_code == 200, token.text
    registered = await client.post(
        "/api/v1/auth/register",
        headers=headers,
        json={"email": "second@example.com", "password": DEFAULT_PASSWORD},
    )
    assert registered.status_code == 201
