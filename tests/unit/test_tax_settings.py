"""The tax settings: defaults, and a wrong value is one line naming the variable."""

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


def test_defaults(clean_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.prices_include_tax is False
    assert settings.tax_shipping is True
    assert settings.store_country == "US"


def test_values_are_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ECOMMERCE_PRICES_INCLUDE_TAX", "true")
    clean_env.setenv("ECOMMERCE_TAX_SHIPPING", "false")
    clean_env.setenv("ECOMMERCE_STORE_COUNTRY", "de")
    settings = load_settings()
    assert settings.prices_include_tax is True
    assert settings.tax_shipping is False
    assert settings.store_country == "DE"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ECOMMERCE_STORE_COUNTRY", "XX"),
        ("ECOMMERCE_STORE_COUNTRY", "Germany"),
        ("ECOMMERCE_PRICES_INCLUDE_TAX", "maybe"),
        ("ECOMMERCE_TAX_SHIPPING", "2"),
    ],
)
def test_wrong_values_name_the_variable(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings()
    message = str(raised.value)
    assert message.startswith(variable + ":"), message
    assert "\n" not in message
