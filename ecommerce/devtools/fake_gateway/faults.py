"""Run-time fault switches of the fake gateway: error, hang, drop, charge-then-error, latency.

One rule is active at a time; setting a new rule replaces the old one. A rule applies to
the operations it names and, when ``times`` is set, only to that many matching requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Operation = Literal["charge", "lookup", "refund"]
OPERATIONS: tuple[Operation, ...] = ("charge", "lookup", "refund")
Mode = Literal["none", "error", "hang", "drop", "charge_then_error"]

# A hung request waits this long at most: far beyond any client timeout, yet finite.
HANG_SECONDS = 3600.0


class FaultRule(BaseModel):
    """The body of ``POST /_control/faults``."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    latency: Annotated[float, Field(ge=0, le=HANG_SECONDS)] = 0.0
    operations: list[Operation] = Field(default_factory=lambda: list(OPERATIONS), min_length=1)
    times: Annotated[int, Field(ge=1)] | None = None


class FaultSwitch:
    def __init__(self) -> None:
        self.rule: FaultRule | None = None
        self._release = asyncio.Event()

    def set(self, rule: FaultRule) -> None:
        self.rule = rule

    def clear(self) -> None:
        """Remove the rule and let every hung request go (by dropping its connection)."""
        self.rule = None
        self._release.set()
        self._release = asyncio.Event()

    def take(self, operation: Operation) -> FaultRule | None:
        """The rule for this request, counting it against ``times``."""
        rule = self.rule
        if rule is None or operation not in rule.operations:
            return None
        if rule.times is not None:
            remaining = rule.times - 1
            self.rule = rule.model_copy(update={"times": remaining}) if remaining else None
        return rule

    async def hang(self) -> None:
        """Wait until the faults are cleared or the server stops (cancellation)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), HANG_SECONDS)
