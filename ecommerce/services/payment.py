"""The payment gateway client: one pooled aiohttp session for the life of the process.

Every failure leaves this module as a domain error, never as an aiohttp exception:

- 402 on a charge -> ``PaymentDeclined`` (the card was refused: no money moved);
- 400 or 404 -> ``GatewayRejected`` (a definite refusal: nothing was done);
- any other 4xx (401, 403, 409, 422, 429) or 5xx answer, or an answer that is not the
  expected JSON -> ``GatewayError`` (the outcome is unknown: retry or reconcile);
- connection refused, reset or dropped -> ``GatewayUnavailable``;
- no answer within ``ECOMMERCE_PAYMENT_GATEWAY_TIMEOUT`` -> ``GatewayTimeout``.

For the last three the outcome of a charge is unknown; the caller keeps the order pending
and the reconciler settles it with ``find_charge``. Charges are never retried here. A
lookup (GET) is retried once by aiohttp itself when a kept-alive connection turns out to
be closed (RFC 9112 section 9.3.1); that is the only retry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import aiohttp
import orjson

from ecommerce.core.config import Settings
from ecommerce.core.errors import (
    DomainError,
    GatewayError,
    GatewayRejected,
    GatewayTimeout,
    GatewayUnavailable,
    PaymentDeclined,
)

logger = logging.getLogger(__name__)

Operation = Literal["charge", "lookup", "refund"]
Outcome = Literal["success", "declined", "error", "unavailable", "timeout", "cancelled"]
# Called after every gateway request with (operation, outcome, seconds), e.g. for metrics.
RequestObserver = Callable[[str, str, float], None]

# Bound on opening a TCP connection. Not aiohttp's ``connect``, which would also count the
# wait for a free slot under the concurrency limit; that wait is bounded by ``total``.
CONNECT_TIMEOUT = 2.0

# 400 invalid request, 404 unknown charge: definite refusals (``GatewayRejected``).
DEFINITE_REFUSALS = frozenset({400, 404})

_OUTCOME_OF_ERROR: dict[type[DomainError], Outcome] = {
    PaymentDeclined: "declined",
    GatewayTimeout: "timeout",
    GatewayUnavailable: "unavailable",
}


@dataclass(frozen=True)
class Charge:
    id: str
    status: str
    amount: int
    currency: str
    idempotency_key: str


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    charge_id: str
    amount: int


class PaymentGateway:
    """Client of the card gateway (API.md, "The payment gateway (outbound)")."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self.request_observers: list[RequestObserver] = []

    @classmethod
    def open(cls, settings: Settings) -> PaymentGateway:
        """Make the one session of the process. Call it inside the running event loop
        (the lifespan); ``close()`` it on shutdown."""
        total = settings.payment_gateway_timeout
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=settings.payment_gateway_max_connections),
            timeout=aiohttp.ClientTimeout(total=total, sock_connect=min(total, CONNECT_TIMEOUT)),
            headers={
                "Authorization": f"Bearer {settings.payment_gateway_api_key.get_secret_value()}",
                "Accept": "application/json",
            },
            json_serialize=lambda obj: orjson.dumps(obj).decode(),
            raise_for_status=False,
        )
        return cls(session, settings.gateway_base_url)

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        await self._session.close()

    async def charge(
        self,
        *,
        amount: int,
        currency: str,
        source: str,
        idempotency_key: str,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Charge:
        """Charge a card token. The same ``idempotency_key`` never charges twice."""
        body: dict[str, Any] = {"amount": amount, "currency": currency, "source": source}
        if description is not None:
            body["description"] = description
        if metadata is not None:
            body["metadata"] = metadata
        payload = await self._exchange(
            "charge", "POST", "/charges", json=body, idempotency_key=idempotency_key
        )
        return _charge(payload, idempotency_key)

    async def find_charge(self, idempotency_key: str) -> Charge | None:
        """The succeeded charge made with ``idempotency_key``, or None when no money moved."""
        payload = await self._exchange(
            "lookup", "GET", "/charges", params={"idempotency_key": idempotency_key}
        )
        data = payload.get("data")
        if not isinstance(data, list):
            raise GatewayError("The payment gateway answered a malformed charge list")
        charges = [_charge(item, idempotency_key) for item in data]
        # A failed charge (a real gateway may list one) took no money: it does not count.
        succeeded = (c for c in charges if c.status == "succeeded")
        return next((c for c in succeeded if c.idempotency_key == idempotency_key), None)

    async def refund(self, *, charge_id: str, amount: int, idempotency_key: str) -> Refund:
        """Refund ``amount`` of a charge. The same ``idempotency_key`` never refunds twice."""
        payload = await self._exchange(
            "refund",
            "POST",
            "/refunds",
            json={"charge_id": charge_id, "amount": amount},
            idempotency_key=idempotency_key,
        )
        try:
            return Refund(
                id=_field(payload, "id", str),
                status=_field(payload, "status", str),
                charge_id=_field(payload, "charge_id", str),
                amount=_field(payload, "amount", int),
            )
        except ValueError:
            raise GatewayError("The payment gateway answered a malformed refund") from None

    async def _exchange(
        self,
        operation: Operation,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """One request; the JSON object of a 2xx answer, or a domain error. Observed."""
        started = time.perf_counter()
        outcome: Outcome = "error"
        try:
            status, raw = await self._send(method, path, json, params, idempotency_key)
            if status == 402 and operation == "charge":
                code, message = _error_of(raw)
                raise PaymentDeclined(message or None, decline_code=code or "card_declined")
            if not 200 <= status < 300:
                code, message = _error_of(raw)
                logger.warning(
                    "payment gateway %s answered %s: %s %s", operation, status, code, message
                )
                # Only a refusal of the request itself is definite (nothing was done and
                # a retry cannot help). 401/403 (a key being rotated), 409 (a concurrent
                # request with the key), 422, 429 and 5xx leave the outcome unknown.
                refused = GatewayRejected if status in DEFINITE_REFUSALS else GatewayError
                raise refused(f"The payment gateway answered HTTP {status}")
            payload = _json_object(raw)
            outcome = "success"
            return payload
        except DomainError as error:
            outcome = _OUTCOME_OF_ERROR.get(type(error), "error")
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            self._observe(operation, outcome, time.perf_counter() - started)

    async def _send(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
        idempotency_key: str | None,
    ) -> tuple[int, bytes]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key is not None else None
        try:
            async with self._session.request(
                method, self._base_url + path, json=json, params=params, headers=headers
            ) as response:
                return response.status, await response.read()
        # ServerTimeoutError is also a ClientConnectionError: timeouts are matched first.
        except TimeoutError:
            raise GatewayTimeout() from None
        except aiohttp.ClientConnectionError as error:
            logger.warning("payment gateway unreachable: %r", error)
            raise GatewayUnavailable() from None
        except aiohttp.ClientError as error:
            logger.warning("payment gateway exchange failed: %r", error)
            raise GatewayError() from None

    def _observe(self, operation: str, outcome: str, seconds: float) -> None:
        for observer in self.request_observers:
            try:
                observer(operation, outcome, seconds)
            except Exception:
                # Metrics must never break a payment.
                logger.exception("payment gateway request observer failed")


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise GatewayError("The payment gateway answered malformed JSON") from None
    if not isinstance(payload, dict):
        raise GatewayError("The payment gateway answered malformed JSON")
    return payload


def _error_of(raw: bytes) -> tuple[str, str]:
    """(code, message) of a gateway error body, tolerating any body."""
    try:
        error = orjson.loads(raw).get("error")
        return str(error.get("code") or ""), str(error.get("message") or "")
    except (orjson.JSONDecodeError, AttributeError):
        return "", ""


T = TypeVar("T")


def _field(payload: dict[str, Any], name: str, kind: type[T]) -> T:
    value = payload.get(name)
    # bool is an int in Python, never an amount.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(name)
    return value


def _charge(payload: Any, idempotency_key: str) -> Charge:
    """A charge from its JSON; a gateway that does not echo the key made it with ours."""
    try:
        if not isinstance(payload, dict):
            raise ValueError("charge")
        key = payload.get("idempotency_key", idempotency_key)
        return Charge(
            id=_field(payload, "id", str),
            status=_field(payload, "status", str),
            amount=_field(payload, "amount", int),
            currency=_field(payload, "currency", str),
            idempotency_key=key if isinstance(key, str) else idempotency_key,
        )
    except ValueError:
        raise GatewayError("The payment gateway answered a malformed charge") from None
