"""The admin routes of webhooks: create (secret once), list, delete, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from ecommerce.core.config import Settings
from tests.conftest import make_settings
from tests.support.events import create_webhook
from tests.support.gateway import FakeGateway

HOOKS = "/api/v1/admin/webhooks"


async def test_create_list_delete(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await create_webhook(
        client, admin_headers, "https://example.com/hook", ["order.paid", "order.paid"]
    )
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert created["events"] == ["order.paid"]
    assert created["is_active"] is True
    listed = await client.get(HOOKS, headers=admin_headers)
    assert listed.status_code == 200
    (item,) = listed.json()["items"]
    assert "secret" not in item  # shown only once
    assert item == {k: v for k, v in created.items() if k != "secret"}
    assert (
        await client.delete(f"{HOOKS}/{created['id']}", headers=admin_headers)
    ).status_code == 204
    assert (
        await client.delete(f"{HOOKS}/{created['id']}", headers=admin_headers)
    ).status_code == 404
    gone = await client.get(f"{HOOKS}/{created['id']}/deliveries", headers=admin_headers)
    assert gone.status_code == 404


async def test_customers_may_not_manage_webhooks(
    client: AsyncClient, customer_headers: dict[str, str]
) -> None:
    body = {"url": "https://example.com/hook", "events": ["order.paid"]}
    assert (await client.post(HOOKS, headers=customer_headers, json=body)).status_code == 403
    assert (await client.get(HOOKS)).status_code == 401
    retry = await client.post("/api/v1/admin/webhook-deliveries/1/retry", headers=customer_headers)
    assert retry.status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/hook", "events": ["order.paid"]}, "url"),
        ({"url": "javascript:alert(1)", "events": ["order.paid"]}, "url"),
        ({"url": "https://" + "a" * 2050 + ".com/", "events": ["order.paid"]}, "url"),
        ({"url": "https://user:pw@example.com/", "events": ["order.paid"]}, "url"),
        ({"url": "https:///nohost", "events": ["order.paid"]}, "url"),
        ({"url": "https://example.com/hook", "events": ["order.refunded"]}, "events"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"url": "https://example.com/hook"}, "events"),
    ],
)
async def test_bad_input_is_422(
    client: AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.post(HOOKS, headers=admin_headers, json=body)
    assert response.status_code == 422, response.text
    assert any(field in error["loc"] for error in response.json()["detail"])


async def test_unknown_ids_are_404(client: AsyncClient, admin_headers: dict[str, str]) -> None:
    retry = await client.post("/api/v1/admin/webhook-deliveries/999/retry", headers=admin_headers)
    assert retry.status_code == 404
    assert (await client.get(f"{HOOKS}/999/deliveries", headers=admin_headers)).status_code == 404


class TestPrivateAddressesRefused:
    """As in production (ECOMMERCE_WEBHOOK_ALLOW_PRIVATE=false)."""

    @pytest.fixture
    def settings(self, database_url: str, fake_gateway: FakeGateway) -> Settings:
        return make_settings(
            database_url,
            payment_gateway_url=fake_gateway.url,
            payment_gateway_api_key=fake_gateway.api_key,
            webhook_allow_private=False,
        )

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:8080/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://172.16.5.4/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://0.0.0.0/hook",
            "http://localhost:9000/hook",  # a host name: resolved, then refused
        ],
    )
    async def test_private_and_loopback_are_422(
        self, client: AsyncClient, admin_headers: dict[str, str], url: str
    ) -> None:
        response = await client.post(
            HOOKS, headers=admin_headers, json={"url": url, "events": ["order.paid"]}
        )
        assert response.status_code == 422, response.text
        assert "address" in response.json()["detail"]

    async def test_a_public_address_is_accepted(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        await create_webhook(client, admin_headers, "https://93.184.215.14/hook", ["order.paid"])
