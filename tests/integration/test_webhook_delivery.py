"""Webhook delivery against a real receiver: signing, retries, 410, order, manual retry."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from ecommerce.core.config import Settings
from ecommerce.models import EventType
from tests.conftest import make_settings
from tests.support.events import create_webhook, deliveries, eventually, place_paid_order, record
from tests.support.gateway import FakeGateway
from tests.support.jobs import consuming
from tests.support.receiver import Receiver, receiver  # noqa: F401 - fixture


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    # Retries a fraction of a second apart, so a test sees a whole series.
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        webhook_retry_base_seconds=0.1,
        webhook_max_attempts=3,
    )


async def test_500_500_200_is_three_attempts_of_one_webhook_id(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.script = [500, 500, 200]
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)
    event = await record(admin_engine, order["id"], EventType.ORDER_PAID)

    async with consuming(settings):
        calls = await receiver.wait_for(3)

        async def succeeded() -> bool:
            (delivery,) = await deliveries(client, admin_headers, webhook["id"])
            return bool(delivery["status"] == "succeeded")

        await eventually(succeeded)

    assert [call.headers["webhook-id"] for call in calls] == [event.id] * 3
    for call in calls:
        Webhook(webhook["secret"]).verify(call.body, call.headers)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery == {
        "id": delivery["id"],
        "event_id": event.id,
        "type": "order.paid",
        "status": "succeeded",
        "attempts": 3,
        "last_status_code": 200,
        "next_attempt_at": None,
    }


async def test_attempts_stop_at_the_maximum_and_the_delivery_fails(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 503
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)
    await record(admin_engine, order["id"], EventType.ORDER_PAID)

    async def failed() -> bool:
        (delivery,) = await deliveries(client, admin_headers, webhook["id"])
        return bool(delivery["status"] == "failed")

    async with consuming(settings):
        await eventually(failed)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 503
    assert len(receiver.received) == 3


async def test_a_4xx_fails_at_once(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 400
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)
    await record(admin_engine, order["id"], EventType.ORDER_PAID)

    async def failed() -> bool:
        (delivery,) = await deliveries(client, admin_headers, webhook["id"])
        return bool(delivery["status"] == "failed")

    async with consuming(settings):
        await eventually(failed)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 400


async def test_410_is_not_retried_and_deactivates_the_endpoint(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 410
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)
    await record(admin_engine, order["id"], EventType.ORDER_PAID)

    async def failed() -> bool:
        (delivery,) = await deliveries(client, admin_headers, webhook["id"])
        return bool(delivery["status"] == "failed")

    async with consuming(settings):
        await eventually(failed)
        # An event after the 410 is not even queued for the inactive endpoint.
        await record(admin_engine, order["id"], EventType.ORDER_SHIPPED)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 410
    assert len(receiver.received) == 1
    listed = await client.get("/api/v1/admin/webhooks", headers=admin_headers)
    assert listed.json()["items"][0]["is_active"] is False
    retried = await client.post(
        f"/api/v1/admin/webhook-deliveries/{delivery['id']}/retry", headers=admin_headers
    )
    assert retried.status_code == 409


async def test_one_orders_events_arrive_in_order_even_when_the_first_is_retried(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    # The first call fails and every answer is slow: a consumer free to send the later
    # event meanwhile would deliver order.shipped before order.paid.
    receiver.script = [500]
    receiver.delay = 0.3
    await create_webhook(client, admin_headers, receiver.url, ["order.paid", "order.shipped"])
    order = await place_paid_order(client, admin_headers)
    paid = await record(admin_engine, order["id"], EventType.ORDER_PAID)
    shipped = await record(admin_engine, order["id"], EventType.ORDER_SHIPPED)

    async with consuming(settings):
        calls = await receiver.wait_for(3)
    assert [call.headers["webhook-id"] for call in calls] == [paid.id, paid.id, shipped.id]
    assert [call.json["type"] for call in calls] == ["order.paid", "order.paid", "order.shipped"]


async def test_a_manual_retry_sends_a_delivered_event_again(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)
    event = await record(admin_engine, order["id"], EventType.ORDER_PAID)
    async with consuming(settings):
        await receiver.wait_for(1)

        async def settled() -> bool:
            (delivery,) = await deliveries(client, admin_headers, webhook["id"])
            return bool(delivery["status"] == "succeeded")

        await eventually(settled)
        (delivery,) = await deliveries(client, admin_headers, webhook["id"])
        retried = await client.post(
            f"/api/v1/admin/webhook-deliveries/{delivery['id']}/retry", headers=admin_headers
        )
        assert retried.status_code == 202
        calls = await receiver.wait_for(2)
    assert [call.headers["webhook-id"] for call in calls] == [event.id, event.id]


async def test_a_refused_connection_is_retried(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    unused_tcp_port: int,
) -> None:
    webhook = await create_webhook(
        client, admin_headers, f"http://127.0.0.1:{unused_tcp_port}/hook", ["order.paid"]
    )
    order = await place_paid_order(client, admin_headers)
    await record(admin_engine, order["id"], EventType.ORDER_PAID)

    async def failed() -> bool:
        (delivery,) = await deliveries(client, admin_headers, webhook["id"])
        return bool(delivery["status"] == "failed")

    async with consuming(settings):
        await eventually(failed)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 3 and delivery["last_status_code"] is None
