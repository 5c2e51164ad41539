"""The fake gateway's state and error answers, shared by its routes and middlewares."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import orjson
from aiohttp import web

from ecommerce.devtools.fake_gateway.faults import FaultSwitch
from ecommerce.devtools.fake_gateway.ledger import JSON, Ledger

# Request storage keys of the "wrong_amount" / "wrong_currency" faults.
AMOUNT_OVERRIDE = web.RequestKey("fault_amount", int)
CURRENCY_OVERRIDE = web.RequestKey("fault_currency", str)


@dataclass
class GatewayState:
    api_key: str
    ledger: Ledger = field(default_factory=Ledger)
    faults: FaultSwitch = field(default_factory=FaultSwitch)
    # Operations a "late" fault does after their request was cut off.
    background: set[asyncio.Task[None]] = field(default_factory=set)


STATE = web.AppKey("state", GatewayState)


class Problem(Exception):
    """An error answer in the gateway's Stripe-like shape ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSON = {"error": {"type": kind, "code": code, "message": message}}
        if param is not None:
            self.body["error"]["param"] = param


def _json(body: JSON, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        body, status=status, headers=headers, dumps=lambda o: orjson.dumps(o).decode()
    )
