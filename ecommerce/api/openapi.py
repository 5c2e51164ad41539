"""The OpenAPI document, made to tell the whole truth about every answer.

FastAPI documents what each route declares; a few answers come from the framework and
our middleware for every route alike, so they are added here, once:

- 400 when a JSON or form body cannot be parsed at all, and 413 past
  ``ECOMMERCE_MAX_BODY_BYTES``, on every operation that takes a body;
- 422's ``detail`` is FastAPI's list for invalid fields, or a string when the service
  refuses a well-formed value (an unknown product, a total above the maximum).

It also knows every method of every path, for the ``Allow`` header of a 405 (Starlette
names only the methods of the first route whose path matched).
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import compile_path

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {"type": "string"}},
}
VALIDATION_SCHEMA = {
    "title": "ValidationProblem",
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
            ]
        }
    },
}
_BODY_ERRORS = {
    "400": "The body is not well-formed JSON (or form data)",
    "413": "The body is larger than ECOMMERCE_MAX_BODY_BYTES",
}
_METHODS: weakref.WeakKeyDictionary[FastAPI, list[tuple[re.Pattern[str], set[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def complete(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    if "ValidationError" in schemas:
        schemas["ValidationProblem"] = VALIDATION_SCHEMA
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                for status, description in _BODY_ERRORS.items():
                    responses.setdefault(status, _error(description))
            if "422" in responses and "ValidationError" in schemas:
                responses["422"] = {
                    "description": "Invalid input: the field and the problem, never the value",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ValidationProblem"}
                        }
                    },
                }
    return document


def install(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, like FastAPI's)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    description=app.description,
                    routes=app.routes,
                    separate_input_output_schemas=app.separate_input_output_schemas,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the document lists for ``path`` (upper case, sorted)."""
    table = _METHODS.get(app)
    if table is None:
        table = _METHODS[app] = [
            (compile_path(template)[0], {method.upper() for method in operations})
            for template, operations in app.openapi()["paths"].items()
        ]
    methods: set[str] = set()
    for pattern, listed in table:
        if pattern.match(path):
            methods |= listed
    return sorted(methods)
