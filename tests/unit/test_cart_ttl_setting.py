"""ECOMMERCE_CART_TTL_HOURS is at least 24: a guest's idempotency keys are deleted with
its cart, and the contract keeps keys at least 24 hours."""

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


@pytest.mark.parametrize("hours", ["0", "1", "23"])
def test_a_cart_ttl_under_a_day_is_refused(clean_env: pytest.MonkeyPatch, hours: str) -> None:
    clean_env.setenv("ECOMMERCE_CART_TTL_HOURS", hours)
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith("ECOMMERCE_CART_TTL_HOURS:") and "24" in message
    assert "\n" not in message


def test_a_day_is_the_shortest_cart_ttl(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ECOMMERCE_CART_TTL_HOURS", "24")
    assert load_settings().cart_ttl_hours == 24
    clean_env.delenv("ECOMMERCE_CART_TTL_HOURS")
    assert load_settings().cart_ttl_hours == 720
