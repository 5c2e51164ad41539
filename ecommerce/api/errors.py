"""Every error answers JSON with ``detail``; a 500 logs the stack, never shows it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ecommerce.api.openapi import allowed_methods
from ecommerce.core.errors import DomainError


def domain_error_response(exc: DomainError) -> JSONResponse:
    """The answer to a domain error (also for api/fast_reads.py, which runs outside the
    app's handlers)."""
    body: dict[str, Any] = {"detail": exc.detail, **exc.extra}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return domain_error_response(exc)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        # Every method of the path, not only those of the first route that matched it.
        allowed = allowed_methods(request.app, request.url.path)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The answer names the field and the problem, never the submitted value: ``input``
    # would echo passwords and card tokens (into client logs, proxies, error trackers).
    # ``ctx`` may hold exception objects and the values a constraint compared against.
    errors = [
        {k: v for k, v in error.items() if k in ("type", "loc", "msg")} for error in exc.errors()
    ]
    return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)


# PostgreSQL's query_canceled: the statement ran past ECOMMERCE_DB_STATEMENT_TIMEOUT.
QUERY_CANCELED = "57014"
# character_not_in_repertoire: text PostgreSQL cannot store (a NUL character).
CHARACTER_NOT_IN_REPERTOIRE = "22021"
# The server went away mid-request: connection exceptions (08...) and shutdowns (57P0x).
SERVER_GONE = ("08", "57P01", "57P02", "57P03")


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == CHARACTER_NOT_IN_REPERTOIRE:
        # Nothing was stored: the statement failed, and the transaction with it.
        return JSONResponse(
            {"detail": "Text fields must not contain NUL (U+0000) characters"}, status_code=422
        )
    if exc.connection_invalidated or (sqlstate or "").startswith(SERVER_GONE):
        return JSONResponse(
            {"detail": "The database connection was lost; retry shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    if sqlstate == QUERY_CANCELED:
        return JSONResponse(
            {"detail": "The database took too long to answer; retry shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    raise exc  # anything else is a bug: the last-resort handler logs it and answers 500


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _database_error)
    # Unhandled exceptions: RequestIdMiddleware answers them, with the request id.


def error_responses(*errors: type[DomainError]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route: each domain error it may raise, for /openapi.json."""
    responses: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        responses[error.status_code] = {
            "description": error.default_detail,
            "content": {"application/json": {"example": {"detail": error.default_detail}}},
        }
    return responses
