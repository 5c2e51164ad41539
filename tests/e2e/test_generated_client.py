"""Operation ids are route names: a client generated from /openapi.json by
openapi-python-client has readable functions, and they work against the app."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from ecommerce.main import create_app

PACKAGE = "shop_client"


def test_operation_ids_are_unique_route_names() -> None:
    app = create_app()
    operations = [
        (operation["operationId"], operation)
        for path in app.openapi()["paths"].values()
        for operation in path.values()
    ]
    ids = [operation_id for operation_id, _ in operations]
    assert not [name for name, count in Counter(ids).items() if count > 1]
    assert {"create_order", "register_user", "create_token", "list_products"} <= set(ids)
    assert not [name for name in ids if "_api_v1_" in name]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    where = tmp_path_factory.mktemp("generated")
    spec = where / "openapi.json"
    spec.write_text(json.dumps(create_app().openapi()))
    bin_dir = str(Path(sys.executable).parent)  # its post-hooks run ruff from here
    result = subprocess.run(
        [
            f"{bin_dir}/openapi-python-client",
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(where / PACKAGE),
            "--meta",
            "none",
        ],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_generated_client_calls_the_api(
    generated: ModuleType, client: AsyncClient, app: FastAPI
) -> None:
    api = generated.Client(base_url="http://test").set_async_httpx_client(client)
    models = module("models")
    register_user = module("api.auth.register_user")
    create_token = module("api.auth.create_token")
    me = module("api.users.get_current_user_profile")
    list_products = module("api.products.list_products")

    created = await register_user.asyncio(
        client=api, body=models.UserCreate(email="gen@example.com", password="generated pw 1")
    )
    assert isinstance(created, models.UserRead) and created.email == "gen@example.com"
    token = await create_token.asyncio(
        client=api,
        body=models.BodyCreateToken(username="gen@example.com", password="generated pw 1"),
    )
    assert isinstance(token, models.Token)
    authed = generated.AuthenticatedClient(
        base_url="http://test", token=token.access_token
    ).set_async_httpx_client(client)
    # A client given its own httpx client sends that client's headers: add the token there.
    client.headers["Authorization"] = f"Bearer {token.access_token}"
    profile = await me.asyncio(client=authed)
    assert isinstance(profile, models.UserRead) and profile.id == created.id
    page = await list_products.asyncio(client=api)
    assert isinstance(page, models.PageProductRead) and page.items == []
