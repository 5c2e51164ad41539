"""record_order_event writes the event, its deliveries and e-mails in the caller's
transaction; the consumer delivers them (real receiver, real SMTP server)."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import Webhook

from ecommerce.core.config import Settings
from ecommerce.models import EmailMessage, Event, EventType, WebhookDelivery, job_table
from ecommerce.repositories import order as order_repository
from ecommerce.services.events import record_order_event
from tests.support.jobs import consuming
from tests.support.receiver import Receiver, receiver  # noqa: F401 - fixture
from tests.support.shop import new_customer, new_product, order_body
from tests.support.smtp import MailServer, mail_server, plain_body  # noqa: F401 - fixture


async def paid_order(client: AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    product = await new_product(client, admin, stock=5, price=1250)
    customer = await new_customer(client)
    placed = await client.post(
        "/api/v1/orders", headers=customer, json=order_body((product["id"], 2))
    )
    assert placed.status_code == 201, placed.text
    order: dict[str, Any] = placed.json()
    return order


async def count(engine: AsyncEngine, statement: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(statement) or 0)


async def test_a_recorded_event_is_delivered_signed_and_mailed(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    created = await client.post(
        "/api/v1/admin/webhooks",
        headers=admin_headers,
        json={"url": receiver.url, "events": ["order.paid"]},
    )
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    order = await paid_order(client, admin_headers)

    async with AsyncSession(admin_engine, expire_on_commit=False) as session:
        loaded = await order_repository.get(session, order["id"])
        assert loaded is not None
        recorded = await record_order_event(session, loaded, EventType.ORDER_PAID)
        await session.commit()
    assert recorded.deliveries == 1 and recorded.emails == 1

    consumer_settings = settings.model_copy(update={"smtp_url": mail_server.url})
    async with consuming(consumer_settings):
        (call,) = await receiver.wait_for(1)
        (mail,) = await mail_server.wait_for(1)

    assert call.headers["webhook-id"] == recorded.event.id
    payload = Webhook(secret).verify(call.body, call.headers)
    assert payload["type"] == "order.paid"
    assert payload["id"] == recorded.event.id
    assert payload["data"]["id"] == order["id"]
    assert payload["data"]["status"] == "paid"
    assert list(payload) == ["id", "type", "created_at", "data"]
    assert mail["Subject"] == f"Your order {order['id']} is confirmed"
    assert "25.00 USD" in plain_body(mail)
    assert mail["Message-ID"].startswith("<order_confirmation.")


async def test_a_rolled_back_change_records_and_queues_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
) -> None:
    created = await client.post(
        "/api/v1/admin/webhooks",
        headers=admin_headers,
        json={"url": receiver.url, "events": ["order.paid"]},
    )
    assert created.status_code == 201
    order = await paid_order(client, admin_headers)
    async with AsyncSession(admin_engine) as session:
        loaded = await order_repository.get(session, order["id"])
        assert loaded is not None
        await record_order_event(session, loaded, EventType.ORDER_PAID)
        # Inside the transaction everything is there...
        assert await session.scalar(select(func.count()).select_from(job_table)) == 2
        await session.rollback()
    # ...and after the rollback nothing is: no event, delivery, e-mail or job.
    for table in (Event, WebhookDelivery, EmailMessage):
        assert await count(admin_engine, select(func.count()).select_from(table)) == 0
    assert await count(admin_engine, select(func.count()).select_from(job_table)) == 0


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_is_a_dotted_order_name(event_type: EventType) -> None:
    assert event_type.value.startswith("order.")
