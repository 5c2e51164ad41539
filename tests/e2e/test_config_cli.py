"""A wrong setting stops the command line and gunicorn's config with one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "env",
    [
        {"ECOMMERCE_DB_POOL_SIZE": "-1"},
        {"ECOMMERCE_ENVIRONMENT": "production"},
    ],
)
def test_cli_start_up_stops_with_one_line(tmp_path: Path, env: dict[str, str]) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECOMMERCE_")}
    result = subprocess.run(
        [sys.executable, "-m", "ecommerce.cli", "migrate"],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: ECOMMERCE_")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "abc", "\u00b2"])
def test_gunicorn_workers_must_be_a_positive_number(tmp_path: Path, value: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECOMMERCE_")}
    result = subprocess.run(
        [sys.executable, "-c", "import ecommerce.gunicorn_config"],
        env={**clean, "ECOMMERCE_WORKERS": value},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"configuration error: ECOMMERCE_WORKERS: must be a whole number of at least 1 "
        f"(got {value!r})"
    ]
