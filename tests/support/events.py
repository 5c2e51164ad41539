"""Helpers for event, webhook and e-mail tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ecommerce.models import Event, EventType
from ecommerce.repositories import order as order_repository
from ecommerce.services.events import record_order_event
from tests.support.shop import new_customer, new_product, order_body


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


async def record(engine: AsyncEngine, order_id: int, event_type: EventType) -> Event:
    """What the state machine does on a move: record the event in its own transaction."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        order = await order_repository.get(session, order_id)
        assert order is not None
        recorded = await record_order_event(session, order, event_type)
        await session.commit()
    return recorded.event


async def deliveries(
    client: AsyncClient, admin: dict[str, str], webhook_id: int
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/admin/webhooks/{webhook_id}/deliveries", headers=admin)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def eventually(
    check: Callable[[], Awaitable[bool]], timeout: float = 20.0, interval: float = 0.05
) -> None:
    """Wait until ``check()`` holds (a state reached asynchronously by the consumer)."""
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(interval)
