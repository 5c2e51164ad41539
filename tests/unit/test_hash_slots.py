"""HostSlots without a database: never more holders than slots, bounded waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ecommerce.core.errors import Overloaded
from ecommerce.core.hash_slots import HostSlots


async def test_never_more_holders_than_slots(tmp_path: Path) -> None:
    slots = HostSlots(tmp_path, count=2, wait_seconds=10)
    holding = 0
    most = 0

    async def work() -> None:
        nonlocal holding, most
        async with slots.slot():
            holding += 1
            most = max(most, holding)
            await asyncio.sleep(0.01)
            holding -= 1

    await asyncio.gather(*(work() for _ in range(10)))
    assert most == 2
    assert slots.in_use_here() == 0


async def test_two_budgets_on_one_directory_share_the_slots(tmp_path: Path) -> None:
    """Two HostSlots (as two processes would) on one directory: one slot for both."""
    first = HostSlots(tmp_path, count=1, wait_seconds=0.05)
    second = HostSlots(tmp_path, count=1, wait_seconds=0.05)
    # Separate descriptors are separate open file descriptions: flock conflicts.
    second._pid = -2  # force its own descriptors even in this process
    async with first.slot():
        second._descriptors()
        second._pid = __import__("os").getpid()
        with pytest.raises(Overloaded) as busy:
            async with second.slot():
                pass
        assert busy.value.status_code == 503
        assert busy.value.headers == {"Retry-After": "1"}
    async with second.slot():
        pass
