"""The fake gateway's faults for money paths: late charges, wrong amounts, statuses."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.support.gateway import FakeGateway


def gateway_client(gateway: FakeGateway) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {gateway.api_key}"}, timeout=5
    )


CHARGE = {"amount": 4200, "currency": "USD", "source": "tok_visa"}


async def wait_for_charges(gateway: FakeGateway, count: int) -> list[dict[str, object]]:
    for _ in range(200):
        charges: list[dict[str, object]] = (await gateway.ledger())["charges"]
        if len(charges) >= count:
            return charges
        await asyncio.sleep(0.02)
    raise AssertionError("the late charge was never recorded")


async def test_late_charge_is_recorded_after_the_caller_was_cut_off(
    fake_gateway: FakeGateway,
) -> None:
    await fake_gateway.set_fault("late", delay=0.2, operations=["charge"], times=1)
    async with gateway_client(fake_gateway) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.post("/charges", json=CHARGE, headers={"Idempotency-Key": "k1"})
        assert (await fake_gateway.ledger())["charges"] == []
        [charge] = await wait_for_charges(fake_gateway, 1)
        assert charge["amount"] == 4200
        found = await http.get("/charges", params={"idempotency_key": "k1"})
        assert [c["id"] for c in found.json()["data"]] == [charge["id"]]
        # "next n requests only": the rule is gone after one charge.
        again = await http.post("/charges", json=CHARGE, headers={"Idempotency-Key": "k2"})
        assert again.status_code == 201


async def test_wrong_amount_and_currency(fake_gateway: FakeGateway) -> None:
    async with gateway_client(fake_gateway) as http:
        await fake_gateway.set_fault("wrong_amount", amount=1, times=1)
        response = await http.post("/charges", json=CHARGE, headers={"Idempotency-Key": "a"})
        assert response.status_code == 201
        assert response.json()["amount"] == 1
        await fake_gateway.set_fault("wrong_currency", currency="EUR", times=1)
        response = await http.post("/charges", json=CHARGE, headers={"Idempotency-Key": "b"})
        assert (response.status_code, response.json()["currency"]) == (201, "EUR")


async def test_status_fault_on_refunds_only(fake_gateway: FakeGateway) -> None:
    async with gateway_client(fake_gateway) as http:
        charge = (await http.post("/charges", json=CHARGE, headers={"Idempotency-Key": "c"})).json()
        await fake_gateway.set_fault("status", status=429, operations=["refund"], times=2)
        lookup = await http.get("/charges", params={"idempotency_key": "c"})
        assert lookup.status_code == 200  # other operations are not affected
        refund = {"charge_id": charge["id"], "amount": 4200}
        for _ in range(2):
            throttled = await http.post("/refunds", json=refund, headers={"Idempotency-Key": "r"})
            assert throttled.status_code == 429
            assert throttled.headers["retry-after"] == "1"
        assert (await fake_gateway.ledger())["refunds"] == []
        done = await http.post("/refunds", json=refund, headers={"Idempotency-Key": "r"})
        assert done.status_code == 201
