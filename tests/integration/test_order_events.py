"""Every order move emits its event, in the move's transaction; the web worker's own
consumer delivers it (real receiver, real SMTP server)."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import Webhook

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from ecommerce.models import EventType
from ecommerce.repositories import order as order_repository
from ecommerce.services.events import record_order_event
from tests.support.carts import address, cart_with, new_zone
from tests.support.events import (
    create_webhook,
    delivering_settings,
    delivery_settled,
    email_rows,
    events_of,
    job_count,
    place_paid_order,
)
from tests.support.gateway import FakeGateway
from tests.support.metrics import parse_samples, value
from tests.support.receiver import Receiver, receiver  # noqa: F401 - fixture
from tests.support.shop import new_customer, new_product, order_body
from tests.support.smtp import MailServer, mail_server, plain_body  # noqa: F401 - fixture

ALL = [event.value for event in EventType]


@pytest.fixture
def settings(
    database_url: str,
    fake_gateway: FakeGateway,
    mail_server: MailServer,  # noqa: F811
) -> Settings:
    return delivering_settings(
        database_url,
        fake_gateway,
        mail_server,
        webhook_retry_base_seconds=0.1,
    )


async def test_a_paid_order_gives_one_signed_order_paid_and_one_confirmation(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    order = await place_paid_order(client, admin_headers)

    (call,) = await receiver.wait_for(1)
    (mail,) = await mail_server.wait_for(1)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")

    created, paid = await events_of(admin_engine, order["id"])
    assert (created.type, paid.type) == ("order.created", "order.paid")
    assert call.headers["webhook-id"] == paid.id
    payload = Webhook(webhook["secret"]).verify(call.body, call.headers)
    assert list(payload) == ["id", "type", "created_at", "data"]
    assert payload["id"] == paid.id and payload["type"] == "order.paid"
    assert payload["data"] == {**order, "updated_at": payload["data"]["updated_at"]}
    assert payload["data"]["status"] == "paid"
    assert mail["Subject"] == f"Your order {order['id']} is confirmed"
    assert "25.00 USD" in plain_body(mail)
    assert str(mail["Message-ID"]).startswith("<order_confirmation.")
    assert len(receiver.received) == 1 and len(mail_server.messages) == 1


async def test_a_409_checkout_emits_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
) -> None:
    await create_webhook(client, admin_headers, receiver.url, ALL)
    product = await new_product(client, admin_headers, stock=1)
    placed = await client.post(
        "/api/v1/orders", headers=customer_headers, json=order_body((product["id"], 2))
    )
    assert placed.status_code == 409
    # The reservation failed and rolled back the transaction: no order, no event, no job.
    async with admin_engine.connect() as conn:
        assert await conn.scalar(text('SELECT count(*) FROM "order"')) == 0
        assert await conn.scalar(text("SELECT count(*) FROM event")) == 0
    assert await job_count(admin_engine) == 0
    assert receiver.received == []


async def test_a_declined_card_emits_created_then_payment_failed(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
) -> None:
    await create_webhook(client, admin_headers, receiver.url, ALL)
    product = await new_product(client, admin_headers, stock=3)
    customer = await new_customer(client)
    placed = await client.post(
        "/api/v1/orders",
        headers=customer,
        json=order_body((product["id"], 1), token="tok_chargeDeclined"),
    )
    assert placed.status_code == 402
    calls = await receiver.wait_for(2)
    assert [call.json["type"] for call in calls] == ["order.created", "order.payment_failed"]
    assert calls[1].json["data"]["status"] == "payment_failed"
    assert await email_rows(admin_engine) == []  # no e-mail for a declined card


async def test_ship_and_cancel_emit_their_events_and_the_shipping_notice(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    await create_webhook(client, admin_headers, receiver.url, ["order.shipped", "order.cancelled"])
    customer = await new_customer(client)
    shipped = await place_paid_order(client, admin_headers, customer)
    cancelled = await place_paid_order(client, admin_headers, customer)
    ship = await client.post(f"/api/v1/orders/{shipped['id']}/ship", headers=admin_headers)
    assert ship.status_code == 200
    cancel = await client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=customer)
    assert cancel.status_code == 200, cancel.text

    calls = await receiver.wait_for(2)
    by_type = {call.json["type"]: call.json["data"] for call in calls}
    assert by_type["order.shipped"]["id"] == shipped["id"]
    assert by_type["order.shipped"]["status"] == "shipped"
    assert by_type["order.cancelled"]["id"] == cancelled["id"]
    assert by_type["order.cancelled"]["status"] == "cancelled"
    messages = await mail_server.wait_for(3)  # two confirmations, one shipping notice
    subjects = sorted(str(message["Subject"]) for message in messages)
    assert f"Your order {shipped['id']} has shipped" in subjects
    assert [event.type for event in await events_of(admin_engine, cancelled["id"])] == [
        "order.created",
        "order.paid",
        "order.cancelled",
    ]


async def test_an_event_recorded_in_a_rolled_back_transaction_leaves_nothing(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    receiver: Receiver,  # noqa: F811
) -> None:
    await create_webhook(client, admin_headers, receiver.url, ["order.shipped"])
    order = await place_paid_order(client, admin_headers)
    before = len(await events_of(admin_engine, order["id"]))
    async with AsyncSession(admin_engine) as session:
        loaded = await order_repository.get(session, order["id"])
        assert loaded is not None
        recorded = await record_order_event(session, loaded, EventType.ORDER_SHIPPED)
        assert recorded.deliveries == 1 and recorded.emails == 1
        await session.rollback()
    assert len(await events_of(admin_engine, order["id"])) == before
    assert all(row.kind != "shipping_notice" for row in await email_rows(admin_engine))
    assert receiver.received == []


async def test_job_and_delivery_metrics(
    client: AsyncClient,
    admin_headers: dict[str, str],
    resources: Resources,
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    assert resources.consumer is not None  # ECOMMERCE_WORKER_IN_PROCESS: this worker consumes
    before = parse_samples((await client.get("/metrics")).text)
    receiver.script = [503]
    webhook = await create_webhook(client, admin_headers, receiver.url, ["order.paid"])
    await place_paid_order(client, admin_headers)
    await mail_server.wait_for(1)
    await receiver.wait_for(2, timeout=30)
    await delivery_settled(client, admin_headers, webhook["id"], "succeeded")
    after = parse_samples((await client.get("/metrics")).text)

    def grew(name: str, **labels: str) -> float:
        return (value(after, name, **labels) or 0) - (value(before, name, **labels) or 0)

    assert grew("jobs_queued_total", kind="webhook.deliver") >= 2  # the first try, one retry
    assert grew("jobs_queued_total", kind="email.send") >= 1
    # At least: a consumer of an earlier test's app may still finish a job meanwhile.
    assert grew("jobs_processed_total", kind="webhook.deliver") >= 2
    assert grew("webhook_delivery_attempts_total", outcome="retryable_status") >= 1
    assert grew("webhook_delivery_attempts_total", outcome="succeeded") >= 1
    assert grew("email_send_attempts_total", kind="order_confirmation", outcome="sent") >= 1
    assert value(after, "jobs_oldest_pending_age_seconds") is not None


async def test_a_guest_cart_checkout_emits_its_events_and_mails_the_guest(
    client: AsyncClient,
    admin_headers: dict[str, str],
    receiver: Receiver,  # noqa: F811
    mail_server: MailServer,  # noqa: F811
) -> None:
    await create_webhook(client, admin_headers, receiver.url, ALL)
    await new_zone(client, admin_headers, ["DE"], [{"name": "DHL", "price": 644}])
    mug = await new_product(client, admin_headers, stock=5, price=1250)
    cart = await cart_with(
        client, [(mug["id"], 2)], None, email="guest@example.com", shipping_address=address("DE")
    )
    options = (await client.get(f"/api/v1/carts/{cart['id']}/shipping-options")).json()
    chosen = await client.put(
        f"/api/v1/carts/{cart['id']}/shipping-method", json={"option_id": options[0]["id"]}
    )
    assert chosen.status_code == 200, chosen.text
    placed = await client.post(
        f"/api/v1/carts/{cart['id']}/checkout", json={"payment_token": "tok_visa"}
    )
    assert placed.status_code == 201, placed.text

    calls = await receiver.wait_for(2)
    assert [call.json["type"] for call in calls] == ["order.created", "order.paid"]
    assert calls[1].json["data"]["shipping_total"] == 644
    (mail,) = await mail_server.wait_for(1)
    assert mail["To"] == "guest@example.com"
    assert "Shipping (DHL): 6.44 USD" in plain_body(mail)
