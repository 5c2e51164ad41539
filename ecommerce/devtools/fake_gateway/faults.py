"""Run-time fault switches of the fake gateway.

Modes: ``error`` (500, nothing done), ``hang``, ``drop``, ``charge_then_error`` (done,
then a 500), ``status`` (answer ``status``, e.g. 429 or 409, nothing done), ``late``
(the connection is dropped at once, as when the caller gave up, and the operation is
done ``delay`` seconds later: a charge recorded after its order was settled as failed),
``wrong_amount`` (a 201 whose charge is of ``amount`` minor units, not what was asked),
``wrong_currency`` (a 201 in ``currency``). ``latency`` adds seconds to any of them.

One rule is active at a time; setting a new rule replaces the old one. A rule applies to
the operations it names (``operations``) and, when ``times`` is set, only to the next
that many matching requests.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Operation = Literal["charge", "lookup", "refund"]
OPERATIONS: tuple[Operation, ...] = ("charge", "lookup", "refund")
Mode = Literal[
    "none",
    "error",
    "hang",
    "drop",
    "charge_then_error",
    "status",
    "late",
    "wrong_amount",
    "wrong_currency",
]

# A hung request waits this long at most: far beyond any client timeout, yet finite.
HANG_SECONDS = 3600.0


class FaultRule(BaseModel):
    """The body of ``POST /_control/faults``."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode
    latency: Annotated[float, Field(ge=0, le=HANG_SECONDS)] = 0.0
    operations: list[Operation] = Field(default_factory=lambda: list(OPERATIONS), min_length=1)
    times: Annotated[int, Field(ge=1)] | None = None
    # mode "status": the HTTP status answered (with Retry-After: 1 on a 429).
    status: Annotated[int, Field(ge=400, le=599)] = 429
    # mode "late": seconds after the dropped request that the operation is done.
    delay: Annotated[float, Field(ge=0, le=HANG_SECONDS)] = 1.0
    # modes "wrong_amount" / "wrong_currency": what the charge is made of instead.
    amount: Annotated[int, Field(ge=1, le=99_999_999)] = 1
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "XTS"


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
