"""While the gateway hangs, checkouts wait without holding the loop or the pool."""

from __future__ import annotations

import asyncio
import time

import pytest
from httpx import AsyncClient, Response

from ecommerce.api.resources import Resources
from ecommerce.core.config import Settings
from tests.support.factories import new_product
from tests.support.gateway import FakeGateway


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A long gateway timeout: the hung checkouts stay hung for the whole test.
    return settings.model_copy(update={"payment_gateway_timeout": 30.0})


async def test_reads_stay_fast_while_the_gateway_hangs(
    resources: Resources,
    client: AsyncClient,
    admin_headers: dict[str, str],
    customer_headers: dict[str, str],
    fake_gateway: FakeGateway,
) -> None:
    product = await new_product(client, admin_headers, stock=100)
    await fake_gateway.set_fault("hang", operations=["charge"])
    body = {"items": [{"product_id": product["id"], "quantity": 1}], "payment_token": "tok_visa"}
    checkouts = [
        asyncio.create_task(client.post("/api/v1/orders", headers=customer_headers, json=body))
        for _ in range(20)
    ]
    # Once every checkout has reserved its stock and reached the gateway, none of them
    # holds a pooled connection: they wait on the network only.
    database = resources.database
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        stock = (await client.get(f"/api/v1/products/{product['id']}")).json()["stock"]
        if stock == 80 and database.pool_status()["checked_out"] == 0:
            break
        await asyncio.sleep(0.05)
    assert stock == 80
    assert database.pool_status()["checked_out"] == 0
    reads: list[Response] = [
        await client.get(f"/api/v1/products/{product['id']}") for _ in range(50)
    ]
    assert all(r.status_code == 200 for r in reads)
    assert not any(task.done() for task in checkouts), "a read waited for a checkout"
    # Let the hung requests go: the gateway drops them, the checkouts answer 503.
    await fake_gateway.clear_faults()
    results = await asyncio.gather(*checkouts)
    assert {r.status_code for r in results} == {503}
