"""Pure ASGI middleware (DESIGN rule 7: no BaseHTTPMiddleware)."""

from __future__ import annotations

import itertools
import logging
import os
import re
import secrets
import time
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecommerce.core import metrics
from ecommerce.core.logging import request_id_var

logger = logging.getLogger("ecommerce.errors")
access_logger = logging.getLogger("ecommerce.access")

REQUEST_ID_HEADER = "X-Request-ID"
INTERNAL_ERROR = {"detail": "Internal server error"}
_VALID_REQUEST_ID = re.compile(r"^[\x20-\x7e]{1,128}$")


class _RequestIds:
    """Request ids minted cheaply: a random per-process prefix and a counter (32 hex chars).

    ``uuid4`` reads the kernel's random source for every request; this does it once per
    process. The prefix is drawn again in a forked child, so workers never share ids, and
    64 random bits keep instances apart.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_request_ids = _RequestIds()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                candidate = value.decode("ascii")
            except UnicodeDecodeError:
                return None
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


class RequestIdMiddleware:
    """Echo the caller's X-Request-ID (when valid) or mint one; expose it to logs.

    It is also the last resort for unhandled errors: Starlette's own handler sits
    outside every middleware, where the request id is already gone, so the error is
    logged and answered here, with the id, as ``{"detail": "Internal server error"}``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or _request_ids.next()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)

        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if response_started:
                raise  # too late for a clean answer; the server closes the connection
            await JSONResponse(INTERNAL_ERROR, status_code=500)(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


# Probes and scrapes arrive every few seconds from machines; when they succeed their
# access lines go out at DEBUG so they do not drown the requests of people.
QUIET_ROUTES = frozenset({"/health/live", "/health/ready", "/metrics"})
_MAX_LOGGED_PATH = 200
_USER_ID_KEY = "user_id"


def set_log_user(connection: HTTPConnection, user_id: object) -> None:
    """Name the signed-in user in this request's access log line.

    The auth dependency calls it once it knows who is calling (``request`` is a
    ``Request``). It writes to the request's state, which the telemetry middleware reads
    after the response.
    """
    connection.scope.setdefault("state", {})[_USER_ID_KEY] = user_id


def route_template(scope: Scope) -> str:
    """The matched route's template (``/api/v1/products/{id}``), never the raw path.

    Starlette's router records the route it matched (fully, or by path only for a 405)
    in ``scope["route"]``.
    """
    route = scope.get("route")
    if route is None and scope.get("endpoint") is not None:
        route = _plain_route(scope)
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) and template else metrics.UNMATCHED_ROUTE


def _plain_route(scope: Scope) -> BaseRoute | None:
    """The Starlette route or mount that served a request (``/openapi.json``, ``/docs``,
    the docs' static files): only FastAPI's own routes record themselves in the scope."""
    endpoint = scope["endpoint"]
    routes: list[BaseRoute] = getattr(getattr(scope.get("app"), "router", None), "routes", [])
    for candidate in routes:
        if getattr(candidate, "endpoint", None) is endpoint:
            return candidate
        if isinstance(candidate, Mount) and candidate.app is endpoint:
            return candidate
    return None


def _loggable_path(scope: Scope) -> str:
    # Never the query string (tokens travel there); percent-encoded, so a crafted path
    # cannot forge extra lines in the readable log format; and bounded.
    raw = scope.get("raw_path")
    if isinstance(raw, bytes):
        path = raw.split(b"?", 1)[0].decode("ascii", errors="backslashreplace")
    else:
        path = quote(scope.get("path", ""), safe="/:@!$&'()*+,;=-._~%")
    return path[:_MAX_LOGGED_PATH]


class TelemetryMiddleware:
    """Metrics and the access log line of every HTTP request.

    It must be the outermost middleware: it then sees the status of every answer,
    including the 500 that ``RequestIdMiddleware`` sends for an unhandled error, and the
    route Starlette matched (set on the shared ``scope``) once the app has returned.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when no response starts (connection dropped)

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics.request_started()
        try:
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            route = route_template(scope)
            metrics.request_finished(scope["method"], route, status, elapsed)
            _log_access(scope, route, status, elapsed)


def _log_access(scope: Scope, route: str, status: int, elapsed: float) -> None:
    level = logging.DEBUG if route in QUIET_ROUTES and status < 400 else logging.INFO
    if not access_logger.isEnabledFor(level):
        return
    state = scope.get("state") or {}
    method = scope["method"]
    path = _loggable_path(scope)
    duration_ms = round(elapsed * 1000, 2)
    extra: dict[str, object] = {
        "method": method,
        "route": route,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        # RequestIdMiddleware (inside this one) has reset the context variable by now:
        # the id travels as a field of the record (RequestIdFilter keeps one already set).
        "request_id": state.get("request_id") or "-",
    }
    user_id = state.get(_USER_ID_KEY)
    if user_id is not None:
        extra[_USER_ID_KEY] = user_id
    client = scope.get("client")
    if client:
        extra["client"] = client[0]
    access_logger.log(level, "%s %s %d %.1fms", method, path, status, duration_ms, extra=extra)
