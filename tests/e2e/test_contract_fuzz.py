"""The OpenAPI document tells the truth: schemathesis, with all its default checks
(status codes, content types, response schemas, negative data, the Allow header of
405s, ...), against the running app (real PostgreSQL, the fake gateway) finds nothing.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.main import create_app
from tests.conftest import make_settings
from tests.support.auth import ADMIN_EMAIL, bearer, create_user
from tests.support.gateway import FakeGateway
from tests.support.server import serve_in_thread

EXAMPLES = int(os.environ.get("ECOMMERCE_FUZZ_EXAMPLES", "12"))


def run_schemathesis(base_url: str, token: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The schemathesis CLI with its defaults: every phase (examples, coverage, fuzzing,
    stateful) and every default check, positive and negative data."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{base_url}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--max-examples",
            str(EXAMPLES),
            "--generation-deterministic",
            # Our token, not generated Authorization values (they would all be 401).
            "--generation-with-security-parameters",
            "false",
            "--continue-on-failure",
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=workdir,  # its cache (.schemathesis/) goes there, not into the repository
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"},
    )


async def test_schemathesis_finds_nothing(
    database_url: str, fake_gateway: FakeGateway, admin_engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        reconciler_enabled=False,
    )
    # Not the password of the schema's examples: the example of POST /users/me/password
    # would change it and revoke the token every later case runs with.
    admin = await create_user(admin_engine, ADMIN_EMAIL, "fuzzing admin password", is_admin=True)

    token = bearer(admin, settings)["Authorization"].removeprefix("Bearer ")
    app = create_app(settings)
    with serve_in_thread(app) as served:
        async with httpx.AsyncClient(base_url=served.url) as http:
            me = await http.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text  # the cases below run signed in
        # In a thread: the fake gateway runs on this test's event loop meanwhile.
        result = await asyncio.to_thread(run_schemathesis, served.url, token, tmp_path)
    report = result.stdout[-20000:] + result.stderr[-5000:]
    print(report)
    assert result.returncode == 0, report
