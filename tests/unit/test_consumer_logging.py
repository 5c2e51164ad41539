"""pgqueuer's ERROR for a lost database becomes one warning line; other errors stay."""

from __future__ import annotations

import logging
import sys

import asyncpg

from ecommerce.services.consumer import OutageAsWarning


def _record(error: BaseException) -> logging.LogRecord:
    try:
        raise error
    except BaseException:
        exc_info = sys.exc_info()
    return logging.LogRecord(
        "pgqueuer", logging.ERROR, __file__, 1, "Manager failed during shutdown", None, exc_info
    )


def test_a_lost_connection_is_a_warning_without_a_stack() -> None:
    record = _record(asyncpg.InterfaceError("connection is closed"))
    assert OutageAsWarning().filter(record)
    assert record.levelno == logging.WARNING and record.levelname == "WARNING"
    assert record.exc_info is None
    assert record.getMessage() == (
        "Manager failed during shutdown: the database is away (InterfaceError)"
    )


def test_any_other_error_keeps_its_level_and_stack() -> None:
    record = _record(ValueError("a bug"))
    assert OutageAsWarning().filter(record)
    assert record.levelno == logging.ERROR and record.exc_info is not None
