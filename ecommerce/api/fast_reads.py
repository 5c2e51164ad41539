"""The anonymous product read by id, answered without FastAPI's routing and dependencies.

``GET /api/v1/products/{id}`` is the hottest route of a shop, and once its answer is in
the catalog cache the rest is overhead: driven in-process (no socket) on the 2-core bench
machine, a cached read took 218 µs through FastAPI's route and 64 µs here. FastAPI spent
the difference matching the path through the included routers and solving the route's
dependency tree (``ResourcesDep``, ``OptionalUser`` and its bearer scheme); see README,
Performance.

This middleware sits innermost, so every other middleware still sees the request: its
access-log line, request id, metrics, recycling, security headers and body limit are
those of any other request. It takes only requests whose answer it can give exactly as
the route would:

- ``GET`` on the exact path, the id in canonical decimal (no sign, no leading zero, no
  spaces) within 1..MAX_ID: the forms FastAPI's validation accepts as the same number.
  Anything else (``/products/abc``, ``/products/0``, a trailing slash) goes to FastAPI,
  which answers its 422, 404 or redirect as always;
- no ``Authorization`` header: the caller is anonymous, so the public view applies (an
  admin sees inactive products; a bad token is 401; both stay with the route).

It answers through the same service function as the route (``catalog.product_view``:
the cache, or one statement on the driver connection) and renders a domain error as the
app's error handler does, so the bytes and headers are those of the route. It records
the route in ``scope["route"]``, as FastAPI's router does, for the metrics label and the
access log's ``route`` field.
"""

from __future__ import annotations

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from ecommerce.api.errors import domain_error_response
from ecommerce.api.resources import STATE_KEY, Resources
from ecommerce.core.errors import DomainError
from ecommerce.core.ids import MAX_ID
from ecommerce.services import catalog

PREFIX = "/api/v1/products/"
_MAX_DIGITS = len(str(MAX_ID))
_JSON = (b"content-type", b"application/json")


def canonical_id(text: str) -> int | None:
    """The id when ``text`` is its canonical decimal form within 1..MAX_ID, else None."""
    if not (0 < len(text) <= _MAX_DIGITS) or not text.isascii() or not text.isdigit():
        return None
    if text[0] == "0":
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def _anonymous(scope: Scope) -> bool:
    # A plain loop: all() over a generator costs a frame per request on the hot path.
    for name, _value in scope["headers"]:  # noqa: SIM110
        if name == b"authorization":
            return False
    return True


class ProductReadMiddleware:
    def __init__(self, app: ASGIApp, route: BaseRoute) -> None:
        self.app = app
        self.route = route  # the FastAPI route this answers for (its template labels metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(PREFIX) or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        product_id = canonical_id(path[len(PREFIX) :])
        resources: Resources | None = (scope.get("state") or {}).get(STATE_KEY)
        if product_id is None or resources is None or not _anonymous(scope):
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        try:
            body = await catalog.product_view(
                resources.database, resources.catalog_cache, product_id
            )
        except DomainError as error:  # 404, 503: as the app's handler answers them
            await domain_error_response(error)(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                # As Response(media_type="application/json") renders them; a new list,
                # since the middlewares outside append their headers to it.
                "headers": [(b"content-length", str(len(body)).encode()), _JSON],
            }
        )
        await send({"type": "http.response.body", "body": body})
