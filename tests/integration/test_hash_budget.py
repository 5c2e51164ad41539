"""The host-wide hashing budget: slots another process holds are not available here."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from httpx import AsyncClient

from ecommerce.core.config import Settings
from ecommerce.models import User
from tests.conftest import make_settings
from tests.support.auth import CUSTOMER_EMAIL, DEFAULT_PASSWORD
from tests.support.gateway import FakeGateway

# Holds every slot file of a directory until its stdin closes: another process.
HOLDER = """
import fcntl, os, sys
from pathlib import Path
directory = Path(sys.argv[1]); directory.mkdir(parents=True, exist_ok=True)
paths = [directory / f"slot-{i}.lock" for i in range(int(sys.argv[2]))]
fds = [os.open(p, os.O_RDWR | os.O_CREAT, 0o600) for p in paths]
for fd in fds:
    fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def slot_dir(tmp_path: Path) -> Path:
    return tmp_path / "slots"


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway, slot_dir: Path) -> Settings:
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        hash_slot_dir=slot_dir,
        hash_max_concurrent=2,
        hash_wait_seconds=1.0,
    )


@pytest.fixture
def holder(slot_dir: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(slot_dir), "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


async def sign_in(client: AsyncClient) -> tuple[int, dict[str, str]]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": CUSTOMER_EMAIL, "password": DEFAULT_PASSWORD}
    )
    return response.status_code, dict(response.headers)


async def test_slots_held_by_another_process_answer_503_with_retry_after(
    client: AsyncClient, customer_user: User, holder: subprocess.Popen[str]
) -> None:
    status, headers = await sign_in(client)
    assert status == 503
    assert int(headers["retry-after"]) >= 1
    register = await client.post(
        "/api/v1/auth/register", json={"email": "new@example.com", "password": "x" * 12}
    )
    assert register.status_code == 503
    # The holder exits: the kernel drops its locks, whatever way it ended.
    holder.kill()
    holder.wait()
    status, _ = await sign_in(client)
    assert status == 200


async def test_hashing_needs_a_slot_and_gives_it_back(
    client: AsyncClient, customer_user: User, slot_dir: Path
) -> None:
    import asyncio

    from ecommerce.core import security

    results = await asyncio.gather(*(sign_in(client) for _ in range(2)))
    assert [status for status, _ in results] == [200] * 2
    assert security.hashing_in_progress() == 0
    assert sorted(p.name for p in slot_dir.iterdir()) == ["slot-0.lock", "slot-1.lock"]
