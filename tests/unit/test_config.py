"""Settings validation: a wrong value stops start-up with one line naming the variable.

The command-line side (one line on stderr, exit code 2) is in tests/e2e/test_config_cli.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecommerce.core.config import ConfigError, load_settings


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("ECOMMERCE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file from the developer's checkout
    return monkeypatch


def test_defaults_are_development_with_a_random_secret(clean_env: pytest.MonkeyPatch) -> None:
    first, second = load_settings(), load_settings()
    assert first.environment == "development"
    assert first.database_url is None
    assert first.access_token_ttl == 3600
    assert first.payment_gateway_timeout == 5
    assert first.reconcile_interval == 10
    assert first.currency == "USD"
    assert first.signing_key() != second.signing_key()  # random per start


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ECOMMERCE_DB_POOL_SIZE", "-1"),
        ("ECOMMERCE_DB_MAX_OVERFLOW", "-3"),
        ("ECOMMERCE_DB_POOL_TIMEOUT", "0"),
        ("ECOMMERCE_PAYMENT_GATEWAY_URL", "not a url"),
        ("ECOMMERCE_PAYMENT_GATEWAY_TIMEOUT", "-5"),
        ("ECOMMERCE_DATABASE_URL", "mysql://localhost/db"),
        ("ECOMMERCE_ACCESS_TOKEN_TTL", "soon"),
        ("ECOMMERCE_CURRENCY", "dollars"),
        ("ECOMMERCE_ENVIRONMENT", "staging"),
        ("ECOMMERCE_FIRST_ADMIN_EMAIL", "not-an-email"),
    ],
)
def test_wrong_value_names_the_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(variable + ":")
    assert "\n" not in message


def test_env_file_is_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("ECOMMERCE_CURRENCY=EUR\n")
    assert load_settings().currency == "EUR"


def test_production_refuses_a_missing_jwt_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ECOMMERCE_ENVIRONMENT", "production")
    clean_env.setenv("ECOMMERCE_DATABASE_URL", "postgresql+asyncpg://u@db/shop")
    with pytest.raises(ConfigError, match=r"^ECOMMERCE_JWT_SECRET:"):
        load_settings()


def test_production_refuses_the_fake_gateway(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ECOMMERCE_ENVIRONMENT", "production")
    clean_env.setenv("ECOMMERCE_DATABASE_URL", "postgresql+asyncpg://u@db/shop")
    clean_env.setenv("ECOMMERCE_JWT_SECRET", "s" * 40)
    with pytest.raises(ConfigError, match=r"^ECOMMERCE_PAYMENT_GATEWAY_URL:"):
        load_settings()
    clean_env.setenv("ECOMMERCE_PAYMENT_GATEWAY_URL", "https://gateway.example.com")
    clean_env.setenv("ECOMMERCE_PAYMENT_GATEWAY_API_KEY", "sk_live_real")
    settings = load_settings()
    assert settings.is_production
    assert settings.json_logs


def test_secrets_are_not_echoed(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ECOMMERCE_FIRST_ADMIN_PASSWORD", "")
    clean_env.setenv("ECOMMERCE_ENVIRONMENT", "production")
    clean_env.setenv("ECOMMERCE_DATABASE_URL", "postgresql+asyncpg://u@db/shop")
    clean_env.setenv("ECOMMERCE_JWT_SECRET", "short-secret")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert "short-secret" not in str(error.value)
