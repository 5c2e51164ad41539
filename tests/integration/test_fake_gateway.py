"""The fake gateway speaks the protocol of API.md, over a real socket, with fault switches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.support.gateway import TLS, FakeGateway

CARD = {"amount": 1999, "currency": "USD", "source": "tok_visa"}


@pytest.fixture
async def http(fake_gateway: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {fake_gateway.api_key}"}
    async with httpx.AsyncClient(
        base_url=fake_gateway.url, headers=headers, timeout=5, verify=TLS
    ) as client:
        yield client


async def charge(
    http: httpx.AsyncClient, key: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await http.post("/charges", json=body or CARD, headers={"Idempotency-Key": key})


async def test_health_needs_no_key(fake_gateway: FakeGateway) -> None:
    async with httpx.AsyncClient(base_url=fake_gateway.url, verify=TLS) as anonymous:
        response = await anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic sk_test_gateway_fixture"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/charges"),
        ("GET", "/charges?idempotency_key=k"),
        ("POST", "/refunds"),
        ("GET", "/_control/ledger"),
        ("POST", "/_control/reset"),
        ("DELETE", "/_control/faults"),
    ],
)
async def test_missing_or_wrong_api_key_is_401(
    fake_gateway: FakeGateway, authorization: str | None, method: str, path: str
) -> None:
    headers = {"Idempotency-Key": "k1"}
    if authorization:
        headers["Authorization"] = authorization
    async with httpx.AsyncClient(base_url=fake_gateway.url, verify=TLS) as anonymous:
        response = await anonymous.request(method, path, json=CARD, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert (await fake_gateway.ledger())["charges"] == []


async def test_charge_succeeds_and_is_in_the_ledger(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    body = {**CARD, "description": "order 1", "metadata": {"order_id": "1"}}
    response = await charge(http, "order-1", body)
    assert response.status_code == 201
    created = response.json()
    assert created["id"].startswith("ch_")
    assert created["status"] == "succeeded"
    assert (created["amount"], created["currency"]) == (1999, "USD")
    assert created["idempotency_key"] == "order-1"
    assert created["metadata"] == {"order_id": "1"}
    ledger = await fake_gateway.ledger()
    assert ledger == {"charges": [created], "refunds": []}


async def test_same_key_replays_the_same_charge(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    first = await charge(http, "order-2")
    again = await charge(http, "order-2")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_concurrent_same_key_charges_make_one_charge(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    # Latency keeps all fifteen in flight at once before any is processed.
    await fake_gateway.set_fault("none", latency=0.2, operations=["charge"])
    answers = await asyncio.gather(*(charge(http, "same-key") for _ in range(15)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_same_key_with_another_body_is_422(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await charge(http, "order-3")
    response = await charge(http, "order-3", {**CARD, "amount": 1})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_declined_card_is_402_charges_nothing_and_replays(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    declined = {**CARD, "source": "tok_chargeDeclined"}
    first = await charge(http, "order-4", declined)
    assert first.status_code == 402
    error = first.json()["error"]
    assert error["code"] == "card_declined"
    assert error["message"]
    again = await charge(http, "order-4", declined)
    assert (again.status_code, again.json()) == (402, first.json())
    lookup = await http.get("/charges", params={"idempotency_key": "order-4"})
    assert lookup.json()["data"] == []
    assert (await fake_gateway.ledger())["charges"] == []


@pytest.mark.parametrize("source", ["tok_mastercard", "tok_amex_123"])
async def test_any_token_succeeds(http: httpx.AsyncClient, source: str) -> None:
    response = await charge(http, source, {**CARD, "source": source})
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**CARD, "source": "4242424242424242"}, "source"),
        ({**CARD, "source": "tok_"}, "source"),
        ({**CARD, "amount": 0}, "amount"),
        ({**CARD, "amount": -5}, "amount"),
        ({**CARD, "amount": 19.99}, "amount"),
        ({**CARD, "amount": "1999"}, "amount"),
        ({**CARD, "amount": True}, "amount"),
        ({**CARD, "amount": 100_000_000}, "amount"),
        ({"currency": "USD", "source": "tok_visa"}, "amount"),
        ({**CARD, "currency": "US"}, "currency"),
        ({**CARD, "currency": 840}, "currency"),
        ({**CARD, "metadata": {"n": 1}}, "metadata.n"),
        ({**CARD, "capture": True}, "capture"),
    ],
)
async def test_invalid_charge_is_400_and_not_stored(
    http: httpx.AsyncClient, fake_gateway: FakeGateway, body: dict[str, Any], param: str
) -> None:
    response = await charge(http, "bad", body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert (await fake_gateway.ledger())["charges"] == []
    # A request refused as invalid does not burn its key.
    assert (await charge(http, "bad")).status_code == 201


async def test_charge_needs_an_idempotency_key_and_a_json_object(
    http: httpx.AsyncClient,
) -> None:
    missing = await http.post("/charges", json=CARD)
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "idempotency_key_required"
    garbage = await http.post("/charges", content=b"{nope", headers={"Idempotency-Key": "g"})
    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "invalid_json"
    listed = await http.post("/charges", json=[CARD], headers={"Idempotency-Key": "g"})
    assert listed.status_code == 400


async def test_lookup_by_idempotency_key(http: httpx.AsyncClient) -> None:
    made = (await charge(http, "order-5")).json()
    await charge(http, "order-6")
    found = await http.get("/charges", params={"idempotency_key": "order-5"})
    assert found.status_code == 200
    assert found.json()["data"] == [made]
    none = await http.get("/charges", params={"idempotency_key": "never-used"})
    assert none.json()["data"] == []
    missing = await http.get("/charges")
    assert missing.status_code == 400


async def test_refund_is_idempotent(http: httpx.AsyncClient, fake_gateway: FakeGateway) -> None:
    made = (await charge(http, "order-7")).json()
    body = {"charge_id": made["id"], "amount": 1999}
    first = await http.post("/refunds", json=body, headers={"Idempotency-Key": "refund-7"})
    assert first.status_code == 201
    refund = first.json()
    assert refund["id"].startswith("re_")
    assert (refund["status"], refund["charge_id"], refund["amount"]) == (
        "succeeded",
        made["id"],
        1999,
    )
    again = await http.post("/refunds", json=body, headers={"Idempotency-Key": "refund-7"})
    assert (again.status_code, again.json()) == (201, refund)
    ledger = await fake_gateway.ledger()
    assert ledger["refunds"] == [refund]
    assert ledger["charges"][0]["refunded"] is True
    # A second key cannot refund what is already refunded.
    other = await http.post("/refunds", json=body, headers={"Idempotency-Key": "refund-7b"})
    assert other.status_code == 400


async def test_refund_more_than_charged_is_400(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    made = (await charge(http, "order-8")).json()
    partial = {"charge_id": made["id"], "amount": 1000}
    first = await http.post("/refunds", json=partial, headers={"Idempotency-Key": "r8a"})
    assert first.status_code == 201
    too_much = await http.post("/refunds", json=partial, headers={"Idempotency-Key": "r8b"})
    assert too_much.status_code == 400
    assert too_much.json()["error"]["code"] == "amount_too_large"
    rest = {"charge_id": made["id"]}  # no amount: all that is left
    last = await http.post("/refunds", json=rest, headers={"Idempotency-Key": "r8c"})
    assert (last.status_code, last.json()["amount"]) == (201, 999)
    assert len((await fake_gateway.ledger())["refunds"]) == 2


async def test_refund_of_unknown_charge_is_404(http: httpx.AsyncClient) -> None:
    body = {"charge_id": "ch_nope", "amount": 1}
    response = await http.post("/refunds", json=body, headers={"Idempotency-Key": "r9"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "resource_missing"
    invalid = await http.post(
        "/refunds", json={"charge_id": "ch_nope", "amount": 0}, headers={"Idempotency-Key": "r9"}
    )
    assert invalid.status_code == 400
    no_key = await http.post("/refunds", json=body)
    assert no_key.status_code == 400


async def test_fault_error_answers_500_and_charges_nothing(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("error")
    response = await charge(http, "order-10")
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    lookup = await http.get("/charges", params={"idempotency_key": "order-10"})
    assert lookup.status_code == 500
    await fake_gateway.clear_faults()
    assert (await fake_gateway.ledger())["charges"] == []
    # The key was not used up: the retry charges once.
    assert (await charge(http, "order-10")).status_code == 201


async def test_fault_charge_then_error_records_the_charge(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("charge_then_error", operations=["charge"])
    response = await charge(http, "order-11")
    assert response.status_code == 500
    lookup = await http.get("/charges", params={"idempotency_key": "order-11"})
    assert lookup.status_code == 200
    [made] = lookup.json()["data"]
    assert made["amount"] == 1999
    await fake_gateway.clear_faults()
    # A retry with the same key gets that charge, not a second one.
    assert (await charge(http, "order-11")).json()["id"] == made["id"]
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_fault_drop_closes_the_connection_without_an_answer(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("drop", operations=["charge"])
    with pytest.raises(httpx.RemoteProtocolError):
        await charge(http, "order-12")
    assert (await fake_gateway.ledger())["charges"] == []


async def test_fault_hang_never_answers(http: httpx.AsyncClient, fake_gateway: FakeGateway) -> None:
    await fake_gateway.set_fault("hang")
    with pytest.raises(httpx.ReadTimeout):
        await http.post("/charges", json=CARD, headers={"Idempotency-Key": "order-13"}, timeout=0.5)
    # Control routes never hang; clearing lets the hung request go without charging.
    await fake_gateway.clear_faults()
    assert (await fake_gateway.ledger())["charges"] == []
    assert (await charge(http, "order-13")).status_code == 201


async def test_fault_applies_to_its_operations_and_times(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("error", operations=["charge"], times=2)
    lookup = await http.get("/charges", params={"idempotency_key": "x"})
    assert lookup.status_code == 200
    statuses = [(await charge(http, f"order-14-{i}")).status_code for i in range(3)]
    assert statuses == [500, 500, 201]
    current = await http.get("/_control/faults")
    assert current.json() == {"fault": None}


async def test_fault_latency_delays_the_answer(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("none", latency=0.3, operations=["lookup"])
    started = time.monotonic()
    response = await http.get("/charges", params={"idempotency_key": "x"})
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


@pytest.mark.parametrize(
    "rule",
    [
        {"mode": "explode"},
        {"mode": "error", "latency": -1},
        {"mode": "error", "operations": ["capture"]},
        {"mode": "error", "operations": []},
        {"mode": "error", "times": 0},
        {"mode": "error", "extra": 1},
    ],
)
async def test_invalid_fault_rule_is_400(http: httpx.AsyncClient, rule: dict[str, Any]) -> None:
    response = await http.post("/_control/faults", json=rule)
    assert response.status_code == 400
    assert (await http.get("/_control/faults")).json() == {"fault": None}


async def test_reset_clears_ledger_keys_and_faults(
    http: httpx.AsyncClient, fake_gateway: FakeGateway
) -> None:
    first = (await charge(http, "order-15")).json()
    await fake_gateway.set_fault("error")
    await fake_gateway.reset()
    assert await fake_gateway.ledger() == {"charges": [], "refunds": []}
    again = await charge(http, "order-15")
    assert again.status_code == 201
    assert again.json()["id"] != first["id"]


async def test_unknown_route_is_json_404(http: httpx.AsyncClient) -> None:
    response = await http.get("/customers")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
