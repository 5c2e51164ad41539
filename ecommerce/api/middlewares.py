"""Pure ASGI middleware (DESIGN rule 7: no BaseHTTPMiddleware)."""

from __future__ import annotations

import logging
import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecommerce.core.logging import request_id_var

logger = logging.getLogger("ecommerce.errors")

REQUEST_ID_HEADER = "X-Request-ID"
INTERNAL_ERROR = {"detail": "Internal server error"}
_VALID_REQUEST_ID = re.compile(r"^[\x20-\x7e]{1,128}$")


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
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
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
