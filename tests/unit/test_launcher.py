"""What the launcher prepares before gunicorn forks: the metrics directory, the pool check.

Reading max_connections from a live database: tests/integration/test_launcher_database.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ecommerce.launcher import (
    MULTIPROC_DIR_ENV,
    pool_capacity_problem,
    prepare_metrics_directory,
)
from tests.conftest import make_settings

UNUSED_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/unused"


def test_a_configured_metrics_directory_is_created_or_emptied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    monkeypatch.setenv(MULTIPROC_DIR_ENV, str(directory))
    assert prepare_metrics_directory() is None  # the operator's: not ours to remove
    assert directory.is_dir()
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "README").write_text("not ours")
    assert prepare_metrics_directory() is None
    assert sorted(p.name for p in directory.iterdir()) == ["README"]


def test_without_configuration_a_private_directory_is_made_and_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # setenv first: whatever the launcher exports is undone after the test.
    monkeypatch.setenv(MULTIPROC_DIR_ENV, "")
    monkeypatch.delenv(MULTIPROC_DIR_ENV)
    first = prepare_metrics_directory()
    monkeypatch.delenv(MULTIPROC_DIR_ENV)
    second = prepare_metrics_directory()
    try:
        assert first is not None and second is not None
        assert first != second and first.is_dir() and not any(first.iterdir())
        assert os.environ[MULTIPROC_DIR_ENV] == str(second)
    finally:
        for directory in (first, second):
            if directory is not None:
                directory.rmdir()


def test_pool_capacity_problem_names_both_numbers() -> None:
    # Nothing connects: the check is arithmetic on the settings and the given maximum.
    fits = make_settings(
        UNUSED_URL,
        db_pool_size=5,
        db_max_overflow=5,
        catalog_cache_ttl=0,
        worker_in_process=False,
    )
    assert pool_capacity_problem(fits, workers=5, max_connections=100) is None
    assert pool_capacity_problem(fits, workers=10, max_connections=100) is None
    problem = pool_capacity_problem(fits, workers=11, max_connections=100)
    assert problem is not None
    assert "need 110 connections" in problem and "max_connections is 100" in problem


def test_a_workers_listen_and_consumer_connections_count_too() -> None:
    # Each web worker holds one LISTEN connection for the catalog cache and one for its
    # job consumer beside its pool: 10 workers of 5 + 5 need 120, not 100.
    settings = make_settings(
        UNUSED_URL,
        db_pool_size=5,
        db_max_overflow=5,
        catalog_cache_ttl=60,
        worker_in_process=True,
    )
    assert pool_capacity_problem(settings, workers=8, max_connections=100) is None
    problem = pool_capacity_problem(settings, workers=10, max_connections=100)
    assert problem is not None
    assert "need 120 connections" in problem
    assert "+ 1 catalog LISTEN + 1 job consumer" in problem
    # The cache off: only the consumer's connection beside the pool.
    no_cache = settings.model_copy(update={"catalog_cache_ttl": 0})
    problem = pool_capacity_problem(no_cache, workers=10, max_connections=100)
    assert problem is not None
    assert "need 110 connections" in problem and "+ 1 job consumer)" in problem
    assert "LISTEN" not in problem
