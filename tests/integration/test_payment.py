"""The gateway client against the fake gateway as a real server: results, error mapping,
observers, the concurrency limit, and one session per process made in the lifespan."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.typedefs import Handler
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient

from ecommerce.api.dependencies import GatewayDep
from ecommerce.core.config import Settings
from ecommerce.core.errors import GatewayError, GatewayTimeout, GatewayUnavailable, PaymentDeclined
from ecommerce.main import create_app
from ecommerce.services.payment import Charge, PaymentGateway
from tests.conftest import make_settings
from tests.support.gateway import FakeGateway, serving_fake_gateway
from tests.support.lifespan import running

Observed = list[tuple[str, str, float]]


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[PaymentGateway]:
    client = PaymentGateway.open(settings)
    yield client
    await client.close()


def observe(gateway: PaymentGateway) -> Observed:
    calls: Observed = []
    gateway.request_observers.append(lambda op, outcome, s: calls.append((op, outcome, s)))
    return calls


@pytest.fixture
def observed(gateway: PaymentGateway) -> Observed:
    return observe(gateway)


def labels(observed: Observed) -> list[tuple[str, str]]:
    return [(op, outcome) for op, outcome, _ in observed]


async def pay(gateway: PaymentGateway, key: str, source: str = "tok_visa") -> Charge:
    return await gateway.charge(amount=2500, currency="USD", source=source, idempotency_key=key)


async def test_charge_then_find_it(gateway: PaymentGateway, fake_gateway: FakeGateway) -> None:
    charge = await gateway.charge(
        amount=2500,
        currency="USD",
        source="tok_visa",
        idempotency_key="order-1-payment",
        description="Order 1",
        metadata={"order_id": "1"},
    )
    assert charge.id.startswith("ch_")
    assert (charge.status, charge.amount, charge.currency) == ("succeeded", 2500, "USD")
    assert charge.idempotency_key == "order-1-payment"
    assert await gateway.find_charge("order-1-payment") == charge
    assert await gateway.find_charge("order-2-payment") is None
    [recorded] = (await fake_gateway.ledger())["charges"]
    assert recorded["description"] == "Order 1"
    assert recorded["metadata"] == {"order_id": "1"}


async def test_the_same_key_charges_once(
    gateway: PaymentGateway, fake_gateway: FakeGateway
) -> None:
    first = await pay(gateway, "order-3-payment")
    again = await pay(gateway, "order-3-payment")
    assert again == first
    assert len((await fake_gateway.ledger())["charges"]) == 1


async def test_declined_card_raises_payment_declined(
    gateway: PaymentGateway, observed: Observed
) -> None:
    with pytest.raises(PaymentDeclined) as caught:
        await pay(gateway, "order-4-payment", source="tok_chargeDeclined")
    assert caught.value.status_code == 402
    assert caught.value.extra == {"decline_code": "card_declined"}
    assert await gateway.find_charge("order-4-payment") is None
    assert labels(observed) == [("charge", "declined"), ("lookup", "success")]


async def test_error_answer_raises_gateway_error(
    gateway: PaymentGateway, fake_gateway: FakeGateway, observed: Observed
) -> None:
    await fake_gateway.set_fault("error")
    with pytest.raises(GatewayError) as caught:
        await pay(gateway, "order-5-payment")
    assert caught.value.status_code == 502
    with pytest.raises(GatewayError):
        await gateway.find_charge("order-5-payment")
    await fake_gateway.clear_faults()
    assert await gateway.find_charge("order-5-payment") is None
    assert labels(observed) == [("charge", "error"), ("lookup", "error"), ("lookup", "success")]


async def test_hang_raises_gateway_timeout_within_the_timeout(
    gateway: PaymentGateway, fake_gateway: FakeGateway, settings: Settings, observed: Observed
) -> None:
    await fake_gateway.set_fault("hang", operations=["charge"])
    # The gateway would hang for an hour; the client gives up at its own timeout (how
    # soon after it is measured by bench/timing.py, not asserted).
    # A deadline for the test itself, far past the client's: a client that ignored its
    # timeout would otherwise hang the suite for the fake gateway's hour.
    with pytest.raises(GatewayTimeout) as caught:
        async with asyncio.timeout(5 * settings.payment_gateway_timeout):
            await pay(gateway, "order-6-payment")
    assert caught.value.status_code == 504
    assert labels(observed) == [("charge", "timeout")]
    assert observed[0][2] >= settings.payment_gateway_timeout * 0.9
    # The hung charge took no money; lookups still answer.
    assert await gateway.find_charge("order-6-payment") is None


async def test_dropped_connection_raises_gateway_unavailable(
    gateway: PaymentGateway, fake_gateway: FakeGateway, observed: Observed
) -> None:
    await fake_gateway.set_fault("drop")
    with pytest.raises(GatewayUnavailable) as caught:
        await pay(gateway, "order-7-payment")
    assert caught.value.status_code == 503
    with pytest.raises(GatewayUnavailable):
        await gateway.refund(charge_id="ch_x", amount=1, idempotency_key="refund-7")
    assert labels(observed) == [("charge", "unavailable"), ("refund", "unavailable")]
    assert (await fake_gateway.ledger())["charges"] == []


async def test_lookup_survives_one_dropped_connection(
    gateway: PaymentGateway, fake_gateway: FakeGateway
) -> None:
    made = await pay(gateway, "order-8-payment")
    # aiohttp resends an idempotent GET once when its connection drops (RFC 9112 9.3.1).
    await fake_gateway.set_fault("drop", operations=["lookup"], times=1)
    assert await gateway.find_charge("order-8-payment") == made
    await fake_gateway.set_fault("drop", operations=["lookup"])
    with pytest.raises(GatewayUnavailable):
        await gateway.find_charge("order-8-payment")


async def test_nothing_listening_raises_gateway_unavailable(database_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed again: connecting is refused.
    settings = make_settings(database_url, payment_gateway_url=f"http://127.0.0.1:{port}")
    client = PaymentGateway.open(settings)
    observed = observe(client)
    try:
        with pytest.raises(GatewayUnavailable):
            await pay(client, "order-9-payment")
        with pytest.raises(GatewayUnavailable):
            await client.find_charge("order-9-payment")
    finally:
        await client.close()
    assert labels(observed) == [("charge", "unavailable"), ("lookup", "unavailable")]


async def test_charge_then_error_is_gateway_error_but_the_charge_is_found(
    gateway: PaymentGateway, fake_gateway: FakeGateway
) -> None:
    await fake_gateway.set_fault("charge_then_error", operations=["charge"])
    with pytest.raises(GatewayError):
        await pay(gateway, "order-10-payment")
    found = await gateway.find_charge("order-10-payment")
    assert found is not None
    assert (found.amount, found.status) == (2500, "succeeded")
    [recorded] = (await fake_gateway.ledger())["charges"]
    assert recorded["id"] == found.id


async def test_wrong_api_key_is_gateway_error(database_url: str, fake_gateway: FakeGateway) -> None:
    settings = make_settings(
        database_url, payment_gateway_url=fake_gateway.url, payment_gateway_api_key="sk_wrong"
    )
    client = PaymentGateway.open(settings)
    try:
        with pytest.raises(GatewayError) as caught:
            await pay(client, "order-11-payment")
    finally:
        await client.close()
    assert caught.value.status_code == 502
    assert (await fake_gateway.ledger())["charges"] == []


async def test_refund_is_idempotent(
    gateway: PaymentGateway, fake_gateway: FakeGateway, observed: Observed
) -> None:
    made = await pay(gateway, "order-12-payment")
    refund = await gateway.refund(charge_id=made.id, amount=2500, idempotency_key="order-12-refund")
    assert refund.id.startswith("re_")
    assert (refund.status, refund.charge_id, refund.amount) == ("succeeded", made.id, 2500)
    again = await gateway.refund(charge_id=made.id, amount=2500, idempotency_key="order-12-refund")
    assert again == refund
    assert len((await fake_gateway.ledger())["refunds"]) == 1
    with pytest.raises(GatewayError):
        await gateway.refund(charge_id="ch_unknown", amount=1, idempotency_key="refund-x")
    assert labels(observed) == [
        ("charge", "success"),
        ("refund", "success"),
        ("refund", "success"),
        ("refund", "error"),
    ]
    assert all(seconds >= 0 for _, _, seconds in observed)


async def test_a_failing_observer_does_not_break_a_payment(gateway: PaymentGateway) -> None:
    def broken(operation: str, outcome: str, seconds: float) -> None:
        raise RuntimeError("metrics down")

    gateway.request_observers.append(broken)
    assert (await pay(gateway, "order-13-payment")).status == "succeeded"


@pytest.mark.parametrize(
    ("status", "body"),
    [(201, b"<html>oops</html>"), (201, b"[1, 2]"), (201, b'{"id": "ch_1"}'), (200, b"{}")],
)
async def test_malformed_answer_is_gateway_error(
    database_url: str, status: int, body: bytes
) -> None:
    """A gateway of the test's own (API.md: tests may implement the protocol) answering junk."""

    async def junk(_: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", junk)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    client = PaymentGateway.open(make_settings(database_url, payment_gateway_url=url))
    try:
        with pytest.raises(GatewayError):
            await pay(client, "order-14-payment")
        with pytest.raises(GatewayError):
            await client.find_charge("order-14-payment")
    finally:
        await client.close()
        await runner.cleanup()
        sock.close()


async def test_concurrent_calls_are_limited_by_max_connections(database_url: str) -> None:
    # The gateway counts the charges it is answering at once (they linger 0.3 s each).
    in_flight = peak = 0

    @web.middleware
    async def count_charges(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal in_flight, peak
        if request.path != "/charges" or request.method != "POST":
            return await handler(request)
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await handler(request)
        finally:
            in_flight -= 1

    async with serving_fake_gateway(middlewares=[count_charges]) as fake_gateway:
        settings = make_settings(
            database_url,
            payment_gateway_url=fake_gateway.url,
            payment_gateway_api_key=fake_gateway.api_key,
            payment_gateway_max_connections=2,
        )
        await fake_gateway.set_fault("none", latency=0.3, operations=["charge"])
        client = PaymentGateway.open(settings)
        try:
            charges = await asyncio.gather(*(pay(client, f"order-15-{i}") for i in range(4)))
        finally:
            await client.close()
    assert len({c.id for c in charges}) == 4
    # Two at a time: never more, and the two did overlap.
    assert peak == 2


async def test_lifespan_makes_one_session_and_closes_it(
    settings: Settings, fake_gateway: FakeGateway
) -> None:
    app: FastAPI = create_app(settings)

    @app.post("/_test/pay/{key}")
    async def pay_through_dependency(key: str, gateway: GatewayDep) -> dict[str, str | int]:
        charge = await pay(gateway, key)
        return {"charge_id": charge.id, "gateway": id(gateway)}

    def sessions() -> set[int]:
        gc.collect()
        return {id(o) for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession)}

    before = sessions()
    async with running(app) as started:
        transport = ASGITransport(app=started.asgi)
        async with AsyncClient(transport=transport, base_url="http://test") as http:
            answers = [(await http.post(f"/_test/pay/k{i}")).json() for i in range(3)]
        gateway = started.resources.gateway
        assert isinstance(gateway, PaymentGateway)
        assert {a["gateway"] for a in answers} == {id(gateway)}
        assert len(sessions() - before) == 1
        assert not gateway.closed
    assert gateway.closed
    assert len((await fake_gateway.ledger())["charges"]) == 3
