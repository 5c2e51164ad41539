"""/openapi.json documents the auth and catalog routes with models, examples and errors."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient


async def test_routes_are_documented(client: AsyncClient) -> None:
    schema: dict[str, Any] = (await client.get("/openapi.json")).json()
    paths = schema["paths"]
    expected = {
        ("/api/v1/auth/register", "post"): {"201", "409", "422"},
        ("/api/v1/auth/token", "post"): {"200", "401", "422"},
        ("/api/v1/users/me", "get"): {"200", "401"},
        ("/api/v1/products", "get"): {"200", "401", "422"},
        ("/api/v1/products", "post"): {"201", "401", "403", "409", "422"},
        ("/api/v1/products/{id}", "get"): {"200", "404", "422"},
        ("/api/v1/products/{id}", "patch"): {"200", "401", "403", "404", "422"},
        ("/api/v1/products/{id}/stock", "post"): {"200", "401", "403", "404", "409", "422"},
    }
    for (path, method), codes in expected.items():
        operation = paths[path][method]
        assert codes <= set(operation["responses"]), (path, method, operation["responses"])
        assert operation["summary"]
    operation_ids = {
        op["operationId"].split("_api_")[0] for p in paths.values() for op in p.values()
    }
    assert {
        "list_products", "get_product", "create_product", "update_product", "adjust_stock",
        "register_user", "create_token",
    } <= operation_ids  # fmt: skip

    components = schema["components"]["schemas"]
    for model in ("ProductCreate", "ProductUpdate", "StockAdjust", "UserCreate"):
        assert components[model]["examples"], model
        assert components[model]["additionalProperties"] is False, model
    assert "hashed_password" not in components["UserRead"]["properties"]
    page = components["Page_ProductRead_"]
    assert set(page["properties"]) == {"items", "next_cursor"}
    # The Authorize button of /docs signs in through the token route.
    security = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert security["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert (await client.get("/docs")).status_code == 200
