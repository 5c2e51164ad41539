"""Pure ASGI guards: the request body limit and the security headers.

``BodyLimitMiddleware`` refuses a body over ``ECOMMERCE_MAX_BODY_BYTES`` with 413 before
anything reads or parses it: at once when ``Content-Length`` says so, and otherwise
(chunked or streamed bodies) as soon as the bytes received pass the limit, so a 12 MB
body costs the reading of 1 MiB, not a 12 MB JSON parse on the event loop.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecommerce.api.resources import STATE_KEY

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
TOO_LARGE = "The request body is larger than the limit of {limit} bytes"

# Answers with personal data or credentials: never stored by a browser or a proxy.
_PRIVATE_PREFIXES = (
    "/api/v1/auth",
    "/api/v1/users",
    "/api/v1/orders",
    "/api/v1/carts",
    "/api/v1/admin",
)
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException,
    so FastAPI's body parsing lets it through to the JSON error handler unchanged."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, TOO_LARGE.format(limit=limit))


def _max_body_bytes(scope: Scope) -> int:
    # The resources arrive in the lifespan state that the server copies into every request.
    resources = (scope.get("state") or {}).get(STATE_KEY)
    limit = getattr(getattr(resources, "settings", None), "max_body_bytes", None)
    return limit if isinstance(limit, int) else DEFAULT_MAX_BODY_BYTES


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = _max_body_bytes(scope)
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except BodyTooLarge:
            # Read outside FastAPI's handlers (a plain route, a middleware): answer here.
            if started:
                raise
            await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    # Connection: close: the unread rest of the body must not be taken for a next request.
    return JSONResponse(
        {"detail": TOO_LARGE.format(limit=limit)}, status_code=413, headers={"Connection": "close"}
    )


class SecurityHeadersMiddleware:
    """``nosniff``, a ``Referrer-Policy`` and no framing on every answer, and
    ``Cache-Control: no-store`` on answers that carry credentials or personal data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = scope.get("path", "").startswith(_PRIVATE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # On the raw header list (names are lower-case bytes in ASGI): no
                # MutableHeaders and no decoding on every answer.
                raw = message.setdefault("headers", [])
                if not isinstance(raw, list):
                    raw = message["headers"] = list(raw)
                present = {name.lower() for name, _ in raw}
                raw.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                if private:
                    MutableHeaders(raw=raw)["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
