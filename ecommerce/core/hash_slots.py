"""A host-wide budget of concurrent password hashes: lock-file slots.

Argon2 costs 64 MiB per hash. A per-process limit multiplies with the number of
workers (2 x cores + 1 on a 64-core host is 129 workers: 129 x 8 x 64 MiB = 66 GiB), so
the budget is the host's: N slot files under one directory, each held with
``flock(LOCK_EX | LOCK_NB)`` by the process hashing in it.

Why lock files (and not the alternatives):

- the kernel drops a ``flock`` when its process dies, however it dies (SIGKILL, OOM):
  a crashed worker never leaks a slot. A POSIX named semaphore (``sem_open``) keeps the
  count of a killed holder forever, and is not in the standard library;
- it is per host, which is what memory is; PostgreSQL advisory locks would be per
  cluster and hold a pooled connection for the length of every hash;
- no extra server, no dependency.

A process keeps one descriptor per slot, and tracks the slots its own tasks hold: a
``flock`` on a descriptor the process already locked would succeed again. The wait is
bounded: past it the caller gets ``Overloaded`` (503 with ``Retry-After``).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import random
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

from ecommerce.core.errors import Overloaded

BUSY = "Too many password checks are running; retry shortly"
_POLL_MIN, _POLL_MAX = 0.005, 0.05


def default_slot_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"ecommerce-{os.getuid()}" / "hash-slots"


class HostSlots:
    """``count`` slots shared by every process of this host that uses ``directory``."""

    def __init__(self, directory: Path, count: int, wait_seconds: float) -> None:
        self.directory = directory
        self.count = count
        self.wait_seconds = wait_seconds
        self._fds: list[int] = []
        self._pid = -1
        self._held: set[int] = set()

    def _descriptors(self) -> list[int]:
        # Opened lazily and again after a fork: descriptors inherited from the master
        # would share its open file descriptions, and with them its locks.
        if self._pid != os.getpid():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fds = [
                os.open(self.directory / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
                for i in range(self.count)
            ]
            self._held = set()
            self._pid = os.getpid()
        return self._fds

    def _try_take(self) -> int | None:
        fds = self._descriptors()
        order = list(range(self.count))
        random.shuffle(order)  # spread processes over the slots: fewer failed attempts
        for slot in order:
            if slot in self._held:
                continue
            try:
                fcntl.flock(fds[slot], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            self._held.add(slot)
            return slot
        return None

    def _give_back(self, slot: int) -> None:
        self._held.discard(slot)
        fcntl.flock(self._fds[slot], fcntl.LOCK_UN)

    def in_use_here(self) -> int:
        """Slots this process holds now."""
        return len(self._held) if self._pid == os.getpid() else 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the block; ``Overloaded`` when none frees up in time."""
        deadline = time.monotonic() + self.wait_seconds
        delay = _POLL_MIN
        while (slot := self._try_take()) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Overloaded(BUSY, retry_after=max(1, round(self.wait_seconds)))
            # Polling (not a blocking flock in a thread): a waiter holds no thread, and
            # the deadline is exact. Jitter keeps many waiters from waking together.
            await asyncio.sleep(min(left, delay * random.uniform(0.5, 1.5)))
            delay = min(delay * 2, _POLL_MAX)
        try:
            yield
        finally:
            self._give_back(slot)
