"""Order e-mails through a real SMTP server (aiosmtpd): sent once, retried on failure."""

from __future__ import annotations

import logging

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.core.config import Settings
from tests.conftest import make_settings
from tests.support.auth import CUSTOMER_EMAIL
from tests.support.events import (
    delivering_settings,
    email_rows,
    events_of,
    eventually,
    place_paid_order,
)
from tests.support.factories import new_product, order_body
from tests.support.gateway import FakeGateway
from tests.support.smtp import MailServer, html_body, mail_server, plain_body  # noqa: F401


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
        mail_retry_base_seconds=0.1,
    )


async def test_a_temporary_smtp_failure_is_retried_with_the_same_message_id(
    client: AsyncClient,
    admin_headers: dict[str, str],
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
) -> None:
    mail_server.refuse_next = 1
    order = await place_paid_order(client, admin_headers)
    ship = await client.post(f"/api/v1/orders/{order['id']}/ship", headers=admin_headers)
    assert ship.status_code == 200

    async def all_sent() -> bool:
        rows = await email_rows(admin_engine)
        return len(rows) == 2 and all(row.status == "sent" for row in rows)

    messages = await mail_server.wait_for(2)
    await eventually(all_sent)
    subjects = sorted(str(message["Subject"]) for message in messages)
    assert subjects == [
        f"Your order {order['id']} has shipped",
        f"Your order {order['id']} is confirmed",
    ]
    rows = await email_rows(admin_engine)
    assert sorted(row.attempts for row in rows) == [1, 2]
    ids = {str(message["Message-ID"]) for message in messages}
    assert ids == {f"<{row.message_id}@example.com>" for row in rows}
    for message in messages:
        assert message["From"] == "shop@example.com"
        assert str(message["To"]).endswith("@example.com")
        assert "Product" in plain_body(message) and "<html" in html_body(message)
    assert len(mail_server.messages) == 2


class TestWithoutSmtp:
    @pytest.fixture
    def settings(self, database_url: str, fake_gateway: FakeGateway) -> Settings:
        return make_settings(
            database_url,
            payment_gateway_url=fake_gateway.url,
            payment_gateway_api_key=fake_gateway.api_key,
            worker_in_process=True,
        )

    async def test_the_message_is_written_to_the_log(
        self,
        client: AsyncClient,
        admin_headers: dict[str, str],
        admin_engine: AsyncEngine,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        async def sent() -> bool:
            rows = await email_rows(admin_engine)
            return bool(rows) and rows[0].status == "sent"

        with caplog.at_level(logging.INFO, logger="ecommerce.services.mailer"):
            order = await place_paid_order(client, admin_headers)
            await eventually(sent)
        logged = [r for r in caplog.records if r.name == "ecommerce.services.mailer"]
        assert len(logged) == 1
        assert f"thank you for your order {order['id']}" in logged[0].getMessage()


@pytest.mark.parametrize("given", [None, "orders+shop@example.com"], ids=["account", "given"])
async def test_the_confirmation_goes_to_the_order_address_else_the_accounts(
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    admin_engine: AsyncEngine,
    mail_server: MailServer,  # noqa: F811
    given: str | None,
) -> None:
    # The e-mail row is written by the event's own statement (repositories/event.py):
    # its address, the customer's name and the order as the event carries it.
    product = await new_product(client, admin_headers, stock=5, price=1250)
    body = order_body((product["id"], 1)) | ({} if given is None else {"email": given})
    placed = await client.post("/api/v1/orders", headers=customer_headers, json=body)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    (message,) = await mail_server.wait_for(1)
    assert str(message["To"]) == (given or CUSTOMER_EMAIL)
    assert plain_body(message).startswith("Hello Customer,")
    (row,) = await email_rows(admin_engine)
    assert row.to_address == (given or CUSTOMER_EMAIL)
    assert row.context["full_name"] == "Customer"
    paid = [
        event for event in await events_of(admin_engine, order["id"]) if event.type == "order.paid"
    ]
    assert row.context["order"] == paid[0].payload["data"]
    assert row.context["order"]["id"] == order["id"]
    assert row.context["order"]["status"] == "paid"
