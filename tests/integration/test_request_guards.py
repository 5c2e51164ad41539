"""Body size limit, security headers and Cache-Control over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from ecommerce.core.config import Settings
from ecommerce.models import User
from tests.conftest import make_settings
from tests.support.gateway import FakeGateway

LIMIT = 4096
REGISTER = "/api/v1/auth/register"


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        max_body_bytes=LIMIT,
    )


def big_json(size: int) -> bytes:
    return b'{"email": "a@example.com", "password": "' + b"x" * size + b'"}'


async def test_declared_oversized_body_is_413_before_auth(client: AsyncClient) -> None:
    # Without a token the route would be 401; the body is refused before anything else.
    response = await client.post(
        "/api/v1/orders",
        content=big_json(LIMIT * 3),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert str(LIMIT) in response.json()["detail"]
    assert response.headers["x-request-id"]


async def test_chunked_body_is_counted(client: AsyncClient) -> None:
    chunks_sent = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for _ in range(64):  # 64 KiB in 1 KiB chunks, no Content-Length
            chunks_sent += 1
            yield b" " * 1024

    response = await client.post(
        REGISTER, content=stream(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert response.json()["detail"].startswith("The request body is larger")


async def test_bodies_within_the_limit_pass(client: AsyncClient) -> None:
    response = await client.post(
        REGISTER, json={"email": "small@example.com", "password": "x" * 100}
    )
    assert response.status_code == 201


async def test_security_headers_and_no_store(
    client: AsyncClient, customer_headers: dict[str, str], customer_user: User
) -> None:
    me = await client.get("/api/v1/users/me", headers=customer_headers)
    assert me.headers["x-content-type-options"] == "nosniff"
    assert me.headers["referrer-policy"] == "no-referrer"
    assert me.headers["cache-control"] == "no-store"
    for path in ("/api/v1/orders",):
        assert (await client.get(path, headers=customer_headers)).headers[
            "cache-control"
        ] == "no-store"
    token = await client.post("/api/v1/auth/token", data={"username": "x@y.z", "password": "p"})
    assert token.headers["cache-control"] == "no-store"
    products = await client.get("/api/v1/products")
    assert products.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in products.headers.get("cache-control", "")
    missing = await client.get("/nowhere")
    assert missing.headers["x-content-type-options"] == "nosniff"


async def test_422_never_echoes_secrets(
    client: AsyncClient, customer_headers: dict[str, str]
) -> None:
    secret_token = "tok_SECRET_" + "z" * 300
    response = await client.post(
        "/api/v1/orders",
        json={"items": [{"product_id": 1, "quantity": 1}], "payment_token": secret_token},
        headers=customer_headers,
    )
    assert response.status_code == 422
    assert "SECRET" not in response.text
    register = await client.post(REGISTER, json={"email": "not-an-email", "password": "hunter2"})
    assert register.status_code == 422
    assert "hunter2" not in register.text
    assert "not-an-email" not in register.text
    assert all({"type", "loc", "msg"} == set(e) for e in register.json()["detail"])


async def test_405_allow_lists_every_method_of_the_path(client: AsyncClient) -> None:
    response = await client.put("/api/v1/products")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert isinstance(response.json()["detail"], str)
    one = await client.delete("/api/v1/products/1")
    assert one.status_code == 405
    assert one.headers["allow"] == "GET, PATCH"


async def test_openapi_documents_body_errors_and_both_422_shapes(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    create = document["paths"]["/api/v1/orders"]["post"]
    assert {"400", "413", "422"} <= set(create["responses"])
    assert create["operationId"] == "create_order"
    problem = document["components"]["schemas"]["ValidationProblem"]
    assert {"type": "string"} in problem["properties"]["detail"]["anyOf"]
