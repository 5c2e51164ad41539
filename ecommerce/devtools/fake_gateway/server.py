"""The fake card gateway: a real aiohttp server speaking the protocol of API.md.

Protocol (every call needs ``Authorization: Bearer <api key>``, else 401):

- ``POST /charges`` (header ``Idempotency-Key``) ``{"amount", "currency", "source",
  "description"?, "metadata"?}`` -> 201 charge. Source ``tok_chargeDeclined`` -> 402
  ``card_declined``; any other ``tok_...`` succeeds; anything else -> 400.
- ``GET /charges?idempotency_key=K`` -> 200 ``{"data": [charge, ...]}``.
- ``POST /refunds`` (header ``Idempotency-Key``) ``{"charge_id", "amount"?}`` -> 201 refund;
  unknown charge 404; more than what is left to refund 400.

The same ``Idempotency-Key`` with the same body replays the first answer (201 or 402,
header ``Idempotent-Replayed: true``) and moves no money; with a different body it is 422
``idempotency_key_reused`` (as the IETF Idempotency-Key draft says). Requests that fail
validation (400/404) are not stored, so their key can be used again, as with Stripe.

Control routes, outside the protocol, same API key: ``POST/GET/DELETE /_control/faults``,
``GET /_control/ledger``, ``POST /_control/reset``. ``GET /health`` needs no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecommerce.devtools.fake_gateway.faults import FaultRule, Operation
from ecommerce.devtools.fake_gateway.ledger import JSON, StoredAnswer, fingerprint
from ecommerce.devtools.fake_gateway.state import (
    AMOUNT_OVERRIDE,
    CURRENCY_OVERRIDE,
    STATE,
    GatewayState,
    Problem,
    _json,
)

logger = logging.getLogger("ecommerce.devtools.fake_gateway")
access_logger = logging.getLogger("ecommerce.devtools.fake_gateway.access")

DECLINED_SOURCE = "tok_chargeDeclined"
TOKEN = re.compile(r"tok_\w+")
MAX_AMOUNT = 99_999_999  # Stripe's ceiling for a USD charge
OPERATION_OF: dict[tuple[str, str], Operation] = {
    ("POST", "/charges"): "charge",
    ("GET", "/charges"): "lookup",
    ("POST", "/refunds"): "refund",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ChargeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    source: Annotated[str, Field(min_length=1, max_length=255)]
    description: Annotated[str, Field(max_length=1000)] | None = None
    metadata: dict[str, Annotated[str, Field(max_length=500)]] | None = None


class RefundRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    charge_id: Annotated[str, Field(min_length=1, max_length=255)]
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT)] | None = None  # None: all that is left


M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], body: JSON) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise Problem(400, "parameter_invalid", first["msg"], param=param) from None


def _idempotency_key(request: web.Request) -> str:
    key = request.headers.get("Idempotency-Key", "")
    if not 1 <= len(key) <= 255:
        raise Problem(
            400, "idempotency_key_required", "Header Idempotency-Key (1 to 255 chars) is required"
        )
    return key


async def _json_body(request: web.Request) -> JSON:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        raise Problem(400, "invalid_json", "The body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Problem(400, "invalid_json", "The body must be a JSON object")
    return body


def _replay(stored: StoredAnswer, print_: bytes) -> web.Response:
    if stored.fingerprint != print_:
        raise Problem(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used with a different request",
            kind="idempotency_error",
        )
    return _json(stored.body, stored.status, {"Idempotent-Replayed": "true"})


async def create_charge(request: web.Request) -> web.Response:
    ledger = request.app[STATE].ledger
    key = _idempotency_key(request)
    body = await _json_body(request)
    # No await below: on one event loop the check and the record cannot interleave, so
    # concurrent requests with one key make exactly one charge.
    print_ = fingerprint("charge", body)
    if (stored := ledger.stored(key)) is not None:
        return _replay(stored, print_)
    params = _validated(ChargeRequest, body)
    if params.source == DECLINED_SOURCE:
        status = 402
        answer: JSON = {
            "error": {
                "type": "card_error",
                "code": "card_declined",
                "message": "Your card was declined.",
            }
        }
    elif TOKEN.fullmatch(params.source):
        status = 201
        # A "wrong_amount" / "wrong_currency" fault makes the charge of something else.
        answer = ledger.record_charge(
            amount=request.get(AMOUNT_OVERRIDE, params.amount),
            currency=request.get(CURRENCY_OVERRIDE, params.currency.upper()),
            idempotency_key=key,
            description=params.description,
            metadata=params.metadata or {},
        )
    else:
        raise Problem(
            400, "invalid_source", "source must be a card token (tok_...)", param="source"
        )
    ledger.store(key, print_, status, answer)
    return _json(answer, status)


async def list_charges(request: web.Request) -> web.Response:
    key = request.query.get("idempotency_key")
    if not key:
        raise Problem(
            400, "parameter_missing", "Query idempotency_key is required", param="idempotency_key"
        )
    return _json({"object": "list", "data": request.app[STATE].ledger.charges_with_key(key)})


async def create_refund(request: web.Request) -> web.Response:
    ledger = request.app[STATE].ledger
    key = _idempotency_key(request)
    body = await _json_body(request)
    # No await below (see create_charge).
    print_ = fingerprint("refund", body)
    if (stored := ledger.stored(key)) is not None:
        return _replay(stored, print_)
    params = _validated(RefundRequest, body)
    remaining = ledger.refundable(params.charge_id)
    if remaining is None:
        raise Problem(404, "resource_missing", "No such charge", param="charge_id")
    if remaining == 0:
        raise Problem(400, "charge_already_refunded", "The charge is already fully refunded")
    amount = remaining if params.amount is None else params.amount
    if amount > remaining:
        raise Problem(
            400,
            "amount_too_large",
            f"Refund of {amount} exceeds the {remaining} left to refund on the charge",
            param="amount",
        )
    refund = ledger.record_refund(charge_id=params.charge_id, amount=amount, idempotency_key=key)
    ledger.store(key, print_, 201, refund)
    return _json(refund, 201)


async def health(_: web.Request) -> web.Response:
    return _json({"status": "ok"})


# --- control routes (outside the protocol) ---


def _fault_view(rule: FaultRule | None) -> JSON:
    return {"fault": None if rule is None else rule.model_dump()}


async def set_fault(request: web.Request) -> web.Response:
    rule = _validated(FaultRule, await _json_body(request))
    request.app[STATE].faults.set(rule)
    logger.info("fault set: %s", rule.model_dump())
    return _json(_fault_view(rule))


async def get_fault(request: web.Request) -> web.Response:
    return _json(_fault_view(request.app[STATE].faults.rule))


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    logger.info("faults cleared")
    return _json(_fault_view(None))


async def get_ledger(request: web.Request) -> web.Response:
    return _json(request.app[STATE].ledger.snapshot())


async def reset(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.faults.clear()
    state.ledger.clear()
    logger.info("ledger and faults reset")
    return _json({"status": "reset"})


# --- middlewares ---


@web.middleware
async def render_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error answers the protocol's JSON shape, including unknown routes."""
    try:
        return await handler(request)
    except Problem as problem:
        return _json(problem.body, problem.status)
    except web.HTTPException as error:
        code = error.reason.lower().replace(" ", "_")
        return _json(
            {"error": {"type": "invalid_request_error", "code": code, "message": error.reason}},
            error.status,
        )


@web.middleware
async def require_api_key(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path != "/health":
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        expected = request.app[STATE].api_key.encode()
        if scheme.lower() != "bearer" or not secrets.compare_digest(key.encode(), expected):
            denied = Problem(401, "invalid_api_key", "Invalid API key", kind="authentication_error")
            return _json(denied.body, 401, {"WWW-Authenticate": "Bearer"})
    return await handler(request)


def _drop(request: web.Request) -> web.Response:
    """Close the TCP connection without an HTTP answer (the client sees a disconnect)."""
    if request.transport is not None:
        request.transport.close()
    # aiohttp fails to write this to the closed transport and lets it go quietly.
    return web.Response(status=500)


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    operation = OPERATION_OF.get((request.method, request.path))
    switch = request.app[STATE].faults
    rule = switch.take(operation) if operation else None
    if rule is None:
        return await handler(request)
    logger.info("fault %s (latency %ss) on %s", rule.mode, rule.latency, operation)
    if rule.latency:
        await asyncio.sleep(rule.latency)
    internal_error = Problem(500, "api_error", "Injected fault: internal error", kind="api_error")
    match rule.mode:
        case "none":
            return await handler(request)
        case "error":
            raise internal_error
        case "hang":
            await switch.hang()
            return _drop(request)
        case "drop":
            return _drop(request)
        case "charge_then_error":
            # The operation happens (money moves), then the answer is lost behind a 500.
            with contextlib.suppress(Problem):
                await handler(request)
            raise internal_error
        case "status":
            headers = {"Retry-After": "1"} if rule.status == 429 else None
            problem = Problem(rule.status, "injected_status", f"Injected fault: {rule.status}")
            return _json(problem.body, rule.status, headers)
        case "late":
            # The body is read now (aiohttp keeps it for the handler), the caller is cut
            # off, and the operation is done later, behind its back.
            await request.read()
            background = request.app[STATE].background
            task = asyncio.create_task(_later(rule.delay, handler, request))
            background.add(task)
            task.add_done_callback(background.discard)
            return _drop(request)
        case "wrong_amount":
            request[AMOUNT_OVERRIDE] = rule.amount
            return await handler(request)
        case "wrong_currency":
            request[CURRENCY_OVERRIDE] = rule.currency
            return await handler(request)


async def _later(delay: float, handler: Handler, request: web.Request) -> None:
    await asyncio.sleep(delay)
    try:
        await handler(request)
    except Problem as problem:
        logger.info("late operation refused: %s", problem)
    logger.info("late %s %s done after %ss", request.method, request.path, delay)


@web.middleware
async def log_access(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One short line per request (aiohttp's own access line carries a dict of extras)."""
    started = time.perf_counter()
    response = await handler(request)
    dropped = request.transport is None or request.transport.is_closing()
    outcome = "dropped" if dropped else str(response.status)
    elapsed = (time.perf_counter() - started) * 1000
    access_logger.info("%s %s -> %s (%.1f ms)", request.method, request.path_qs, outcome, elapsed)
    return response


async def _release_hung_requests(app: web.Application) -> None:
    app[STATE].faults.clear()
    for task in list(app[STATE].background):
        task.cancel()


def create_app(api_key: str, *, access_log: bool = False) -> web.Application:
    """The fake gateway as an aiohttp application (run it with AppRunner or run_app)."""
    middlewares = [render_errors, require_api_key, inject_faults]
    app = web.Application(middlewares=[log_access, *middlewares] if access_log else middlewares)
    app[STATE] = GatewayState(api_key=api_key)
    app.router.add_post("/charges", create_charge)
    app.router.add_get("/charges", list_charges, allow_head=False)
    app.router.add_post("/refunds", create_refund)
    app.router.add_get("/health", health, allow_head=False)
    app.router.add_post("/_control/faults", set_fault)
    app.router.add_get("/_control/faults", get_fault, allow_head=False)
    app.router.add_delete("/_control/faults", clear_faults)
    app.router.add_get("/_control/ledger", get_ledger, allow_head=False)
    app.router.add_post("/_control/reset", reset)
    # Shutdown would otherwise wait for hung requests until its timeout.
    app.on_shutdown.append(_release_hung_requests)
    return app


def run(*, host: str, port: int, api_key: str) -> None:
    """Serve until SIGINT/SIGTERM (blocking)."""
    logger.info("fake gateway listening on http://%s:%s", host, port)
    web.run_app(
        create_app(api_key, access_log=True),
        host=host,
        port=port,
        print=None,
        access_log=None,
        shutdown_timeout=5.0,
    )
