"""``ecommerce seed`` as a process: safe to run again and again."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecommerce.devtools.demo_catalog import demo_products
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("clean_database")  # the products it adds


def test_cli_seed_is_idempotent(database_url: str) -> None:
    def seed() -> str:
        result = subprocess.run(
            [sys.executable, "-m", "ecommerce.cli", "seed"],
            cwd=ROOT,
            env={"PATH": "/usr/bin:/bin", "ECOMMERCE_DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    total = len(demo_products("USD"))
    assert f"demo catalog: {total} products added ({total} in the demo catalog)" in seed()
    assert f"demo catalog: 0 products added ({total} in the demo catalog)" in seed()
