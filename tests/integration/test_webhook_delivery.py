"""Webhook delivery against a real receiver: retries, 410, order, manual retry, many
consumers. The app's own (in-process) consumer delivers, as in `ecommerce serve`."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.services import sweeper
from tests.conftest import make_settings
from tests.support.events import (
    create_webhook,
    deliveries,
    delivery_settled,
    events_of,
    place_paid_order,
)
from tests.support.gateway import FakeGateway
from tests.support.jobs import consuming
from tests.support.receiver import Receiver, receiver  # noqa: F401 - fixture
from tests.support.shop import new_customer


@pytest.fixture
def settings(database_url: str, fake_gateway: FakeGateway) -> Settings:
    # Retries a fraction of a second apart, so a test sees a whole series.
    return make_settings(
        database_url,
        payment_gateway_url=fake_gateway.url,
        payment_gateway_api_key=fake_gateway.api_key,
        worker_in_process=True,
        webhook_retry_base_seconds=0.1,
        webhook_max_attempts=3,
    )


async def test_500_500_200_is_three_attempts_of_one_webhook_id(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.script = [500, 500, 200]
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)

    calls = await receiver.wait_for(3)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")

    paid = (await events_of(admin_engine, order["id"]))[-1]
    assert paid.type == "order.paid"
    assert [call.headers["webhook-id"] for call in calls] == [paid.id] * 3
    for call in calls:
        Webhook(webhook["secret"]).verify(call.body, call.headers)
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery == {
        "id": delivery["id"],
        "event_id": paid.id,
        "type": "order.paid",
        "status": "succeeded",
        "attempts": 3,
        "last_status_code": 200,
        "next_attempt_at": None,
    }
    assert len(receiver.received) == 3


async def test_attempts_stop_at_the_maximum_and_the_delivery_fails(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 503
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "failed")
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 3 and delivery["last_status_code"] == 503
    assert len(receiver.received) == 3


async def test_a_4xx_fails_at_once(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 400
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "failed")
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 400


async def test_410_is_not_retried_and_deactivates_the_endpoint(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    receiver.default = 410
    webhook = await create_webhook(
        client, admin_headers, receiver.url, ["order.paid", "order.shipped"]
    )
    order = await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "failed")
    # An event after the 410 is not even queued for the inactive endpoint.
    ship = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert ship.status_code == 200
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 1 and delivery["last_status_code"] == 410
    assert len(receiver.received) == 1
    listed = await client.get("/api/v1/admin/webhooks", headers=admin_headers)
    assert listed.json()["items"][0]["is_active"] is False
    retried = await client.post(
        f"/api/v1/admin/webhook-deliveries/{delivery['id']}/retry", headers=admin_headers
    )
    assert retried.status_code == 409


async def test_paid_always_arrives_before_shipped_with_a_slow_failing_receiver(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    # The first answer is a 500 and every answer is slow: a consumer free to send the
    # later event meanwhile would deliver order.shipped before order.paid. Two more
    # consumers (as `ecommerce worker` processes would) compete for the jobs.
    receiver.script = [500]
    receiver.delay = 0.3
    await create_webhook(client, admin_headers, receiver.url, ["order.paid", "order.shipped"])
    async with consuming(settings), consuming(settings):
        order = await place_paid_order(client, admin_headers)
        ship = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
        assert ship.status_code == 200
        calls = await receiver.wait_for(3)
    _, paid, shipped = await events_of(admin_engine, order["id"])
    assert [call.headers["webhook-id"] for call in calls] == [paid.id, paid.id, shipped.id]
    assert [call.json["type"] for call in calls] == ["order.paid", "order.paid", "order.shipped"]


async def test_a_manual_retry_sends_a_delivered_event_again(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    retried = await client.post(
        f"/api/v1/admin/webhook-deliveries/{delivery['id']}/retry", headers=admin_headers
    )
    assert retried.status_code == 202
    first, again = await receiver.wait_for(2)
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 2


async def test_a_refused_connection_is_retried(
    client: AsyncClient,
    admin_headers: dict[str, str],
    unused_tcp_port: int,
) -> None:
    webhook = await create_webhook(
        client, admin_headers, f"http://127.0.0.1:{unused_tcp_port}/hook", ["order.paid"]
    )
    await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "failed")
    (delivery,) = await deliveries(client, admin_headers, webhook["id"])
    assert delivery["attempts"] == 3 and delivery["last_status_code"] is None


async def test_each_endpoint_gets_its_own_delivery(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
) -> None:
    first = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    second = await create_webhook(client, admin_headers, receiver.url + "?b", ["order.paid"])
    other = await create_webhook(client, admin_headers, receiver.url, ["order.shipped"])
    await place_paid_order(client, admin_headers, await new_customer(client))
    await receiver.wait_for(2)
    for webhook in (first, second):
        await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    assert await deliveries(client, admin_headers, other["id"]) == []


async def test_the_sweep_requeues_a_lost_delivery_and_trims_the_job_history(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    resources: Resources,
    receiver: Receiver,  # noqa: F811
) -> None:
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    await place_paid_order(client, admin_headers)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    # As if its job had been lost: pending again, due two minutes ago, no job queued.
    async with admin_engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE webhook_delivery SET status = 'pending', "
                "next_attempt_at = now() - interval '2 minutes'"
            )
        )
        await conn.execute(text("UPDATE pgqueuer_log SET created = now() - interval '8 days'"))
    assert await sweeper.requeue_lost(resources.database) == 1
    await receiver.wait_for(2)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    async with admin_engine.connect() as conn:
        old = await conn.scalar(
            text("SELECT count(*) FROM pgqueuer_log WHERE created < now() - interval '7 days'")
        )
    assert old == 0
