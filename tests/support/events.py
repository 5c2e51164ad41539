"""Helpers for event, webhook and e-mail tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from ecommerce.models import EmailMessage, Event, job_table
from tests.conftest import make_settings
from tests.support.gateway import FakeGateway
from tests.support.shop import new_customer, new_product, order_body
from tests.support.smtp import MailServer


def delivering_settings(
    database_url: str, fake_gateway: FakeGateway, mail_server: MailServer, **overrides: Any
) -> Settings:
    """Settings of a test that sees events through: the fake gateway, the job consumers
    in process and a real SMTP server."""
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        worker_in_process=True,
        smtp_url=mail_server.url,
        **overrides,
    )


async def create_webhook(
    client: AsyncClient, admin: dict[str, str], url: str, events: list[str]
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/admin/webhooks", headers=admin, json={"url": url, "events": events}
    )
    assert response.status_code == 201, response.text
    webhook: dict[str, Any] = response.json()
    return webhook


async def place_paid_order(
    client: AsyncClient, admin: dict[str, str], customer: dict[str, str] | None = None
) -> dict[str, Any]:
    product = await new_product(client, admin, stock=5, price=1250)
    customer = customer or await new_customer(client)
    placed = await client.post(
        "/api/v1/orders", headers=customer, json=order_body((product["id"], 2))
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


async def events_of(engine: AsyncEngine, order_id: int) -> list[Event]:
    """The events recorded for one order, oldest first."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(select(Event).where(Event.order_id == order_id).order_by(Event.seq))
        ).all()
    return [Event(**row._mapping) for row in rows]


async def email_rows(engine: AsyncEngine) -> list[EmailMessage]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(EmailMessage).order_by(EmailMessage.id))).all()
    return [EmailMessage(**row._mapping) for row in rows]


async def job_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(job_table)) or 0)


async def deliveries(
    client: AsyncClient, admin: dict[str, str], webhook_id: int
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 60.0, interval: float = 0.05
) -> None:
    """Wait until ``check()`` holds (a state reached asynchronously by the consumer)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(interval)


async def delivery_settled(
    client: AsyncClient, admin: dict[str, str], webhook_id: int, status: str, count: int = 1
) -> None:
    """Wait until the endpoint has ``count`` deliveries, all with ``status``."""

    async def check() -> bool:
        items = await deliveries(client, admin, webhook_id)
        return len(items) == count and all(item["status"] == status for item in items)

    await eventually(check)
