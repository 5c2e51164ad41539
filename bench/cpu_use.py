"""Where the machine's CPU went during a bench run: seconds per group of processes.

A ratio of requests/s says how far the service is from the baseline; this says why, in
the units a 2-core machine is short of: CPU milliseconds per request, for the app under
load, the other apps' workers (a second service's job consumers share the database's
queue, so they take part in a checkout), PostgreSQL, the fake gateway, and the whole
machine (``psutil.cpu_times``, so wrk and anything else running is in it too). At
saturation ``2000 / machine ms per request`` is the rate this box can reach.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil


def _tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and its live descendants (the bench
    turns worker recycling off, so no worker's time leaves with it mid-run)."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _postgres_seconds() -> float:
    """Every PostgreSQL process on the machine (the bench's server does all the work;
    an idle one elsewhere adds nothing). Backends of the apps' pools live for the run."""
    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            times = process.info["cpu_times"]
            total += times.user + times.system
    return total


def _machine_seconds() -> float:
    # Not steal or guest (guest time is counted in user already); no iowait (idle).
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))


@dataclass
class CpuUse:
    """CPU seconds per group while the block runs: ``groups`` maps a name to the pid
    of a process tree (a gunicorn master, the gateway)."""

    groups: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)

    def _snapshot(self) -> dict[str, float]:
        snap = {name: _tree_seconds(pid) for name, pid in self.groups.items()}
        snap["postgres"] = _postgres_seconds()
        snap["machine"] = _machine_seconds()
        return snap

    @contextlib.contextmanager
    def measuring(self) -> Iterator[None]:
        before = self._snapshot()
        try:
            yield
        finally:
            after = self._snapshot()
            self.seconds = {name: after[name] - before[name] for name in after}

    def per_request(self, requests: float) -> dict[str, float]:
        """Milliseconds of CPU per request, by group."""
        if requests <= 0:
            return {}
        return {name: 1000 * used / requests for name, used in self.seconds.items()}


def describe(per_request: dict[str, float], first: str) -> str:
    """``first 1.23 · other 0.45 · ... · postgres 0.67 · machine 3.21`` (groups that used
    under 0.05 ms a request are left out)."""
    ends = ("postgres", "machine")
    others = sorted(
        (name for name in per_request if name not in (first, *ends)),
        key=lambda name: -per_request[name],
    )
    names = [first, *(name for name in others if per_request[name] >= 0.05), *ends]
    return " · ".join(f"{name} {per_request[name]:.2f}" for name in names if name in per_request)
