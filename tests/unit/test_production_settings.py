"""Production refuses a clear-text gateway except on loopback; limits are validated."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from ecommerce.core.config import Settings

PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://u@db/shop",
    "jwt_secret": "s" * 40,
    "payment_gateway_api_key": "sk_live_real",
}


@pytest.mark.parametrize(
    "url", ["http://gateway.example.com", "http://10.0.0.5:8090", "http://gateway:8090"]
)
def test_production_refuses_http_gateways(url: str) -> None:
    with pytest.raises(ValidationError, match="ECOMMERCE_PAYMENT_GATEWAY_URL: production needs"):
        Settings(_env_file=None, payment_gateway_url=url, **PRODUCTION)


@pytest.mark.parametrize(
    "url",
    [
        "https://gateway.example.com",
        "http://127.0.0.1:9000",
        "http://127.8.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    ],
)
def test_production_accepts_https_and_loopback(url: str) -> None:
    assert Settings(_env_file=None, payment_gateway_url=url, **PRODUCTION).is_production


def test_development_accepts_http_anywhere() -> None:
    settings = Settings(_env_file=None, payment_gateway_url="http://gateway:8090")
    assert not settings.is_production


@pytest.mark.parametrize(
    "field,value",
    [
        ("login_max_failures", 0),
        ("login_window_seconds", 0),
        ("decline_limit", 0),
        ("max_body_bytes", 10),
        ("hash_max_concurrent", 0),
        ("hash_wait_seconds", 0),
        ("client_rate_limit", 0),
    ],
)
def test_limits_are_validated(field: str, value: int) -> None:
    with pytest.raises(ValidationError):
        values: dict[str, Any] = {field: value}
        Settings(_env_file=None, **values)
