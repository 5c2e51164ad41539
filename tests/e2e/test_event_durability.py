"""Events survive the process that committed them, and each e-mail goes out once,
against real `ecommerce serve` / `ecommerce worker` processes over real sockets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import TEST_JWT_SECRET
from tests.support.events import email_rows, eventually, job_count
from tests.support.gateway import FakeGateway
from tests.support.receiver import Receiver, receiver  # noqa: F401 - fixture
from tests.support.served import serving, working
from tests.support.smtp import MailServer, mail_server  # noqa: F401 - fixture

PASSWORD = "correct horse battery"


@pytest.fixture
def env(
    database_url: str,
    fake_gateway: FakeGateway,
    mail_server: MailServer,  # noqa: F811
    tmp_path: Path,
) -> dict[str, str]:
    return {
        "ECOMMERCE_DATABASE_URL": database_url,
        "ECOMMERCE_JWT_SECRET": TEST_JWT_SECRET,
        "ECOMMERCE_PAYMENT_GATEWAY_URL": fake_gateway.url,
        "ECOMMERCE_PAYMENT_GATEWAY_API_KEY": fake_gateway.api_key,
        "ECOMMERCE_SMTP_URL": mail_server.url,
        "ECOMMERCE_DATA_DIR": str(tmp_path / "unused"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }


async def customer(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    registered = await http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    token = await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def product(http: httpx.AsyncClient, admin: dict[str, str], stock: int) -> int:
    created = await http.post(
        "/api/v1/products",
        headers=admin,
        json={"sku": f"E2E-{stock}", "name": "Mug", "price": 1200, "stock": stock},
    )
    assert created.status_code == 201, created.text
    product_id: int = created.json()["id"]
    return product_id


async def order(http: httpx.AsyncClient, buyer: dict[str, str], product_id: int) -> dict[str, Any]:
    placed = await http.post(
        "/api/v1/orders",
        headers=buyer,
        json={"items": [{"product_id": product_id, "quantity": 1}], "payment_token": "tok_visa"},
    )
    assert placed.status_code == 201, placed.text
    body: dict[str, Any] = placed.json()
    return body


async def test_sigkill_after_the_commit_loses_neither_the_webhook_nor_the_email(
    env: dict[str, str],
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    # No consumer in the first process: the order is committed, its jobs queued, and
    # then the process dies without running any shutdown code.
    async with serving({**env, "ECOMMERCE_WORKER_IN_PROCESS": "false"}) as first:
        async with httpx.AsyncClient(base_url=first.url or "", timeout=30) as http:
            hook = await http.post(
                "/api/v1/admin/webhooks",
                headers=admin_headers,
                json={"url": receiver.url, "events": ["order.paid"]},
            )
            assert hook.status_code == 201, hook.text
            paid = await order(
                http,
                await customer(http, "kill@example.com"),
                await product(http, admin_headers, 5),
            )
        assert await job_count(admin_engine) >= 2  # the delivery and the e-mail, waiting
        first.kill()
    assert receiver.received == [] and mail_server.messages == []

    # After a restart (consumers on), both go out.
    async with serving(env):
        (call,) = await receiver.wait_for(1, timeout=60)
        (mail,) = await mail_server.wait_for(1, timeout=60)
    assert call.json["type"] == "order.paid" and call.json["data"]["id"] == paid["id"]
    assert mail["Subject"] == f"Your order {paid['id']} is confirmed"


async def test_one_confirmation_per_paid_order_with_two_web_workers_and_restarts(
    env: dict[str, str],
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
) -> None:
    # Two web workers consume (and gunicorn recycles them every few requests), beside an
    # `ecommerce worker` that is restarted halfway: every job still runs exactly once.
    recycling = {**env, "ECOMMERCE_MAX_REQUESTS": "8", "ECOMMERCE_MAX_REQUESTS_JITTER": "0"}
    orders: list[dict[str, Any]] = []
    async with (
        serving(recycling, workers=2) as server,
        httpx.AsyncClient(base_url=server.url or "", timeout=30) as http,
    ):
        product_id = await product(http, admin_headers, 100)
        buyers = [await customer(http, f"buyer{n}@example.com") for n in range(2)]
        async with working(env) as worker:
            for _ in range(3):
                orders += await asyncio.gather(*(order(http, b, product_id) for b in buyers))
            await worker.stop()
        async with working(env):
            for _ in range(3):
                orders += await asyncio.gather(*(order(http, b, product_id) for b in buyers))

            async def all_sent() -> bool:
                rows = await email_rows(admin_engine)
                return len(rows) == len(orders) and all(r.status == "sent" for r in rows)

            await eventually(all_sent, timeout=90)

    subjects = sorted(str(message["Subject"]) for message in mail_server.messages)
    assert subjects == sorted(f"Your order {o['id']} is confirmed" for o in orders)
    assert len({str(message["Message-ID"]) for message in mail_server.messages}) == len(orders)
