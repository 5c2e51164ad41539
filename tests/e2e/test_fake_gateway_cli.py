"""``ecommerce fake-gateway`` as a real process, and the ``serve --demo`` helper around it."""

from __future__ import annotations

from urllib.parse import urlsplit

from ecommerce.core.config import Settings
from ecommerce.devtools.fake_gateway.process import fake_gateway_beside, running_fake_gateway
from ecommerce.services.payment import PaymentGateway
from tests.conftest import make_settings
from tests.support.gateway import FakeGateway
from tests.support.processes import free_port


async def test_command_serves_the_gateway_until_stopped(database_url: str) -> None:
    port = free_port()
    settings = make_settings(
        database_url,
        payment_gateway_url=f"http://127.0.0.1:{port}",
        payment_gateway_api_key="sk_test_cli",
    )
    with running_fake_gateway("127.0.0.1", port, "sk_test_cli") as process:
        assert process is not None
        client = PaymentGateway.open(settings)
        try:
            charge = await client.charge(
                amount=700, currency="EUR", source="tok_visa", idempotency_key="cli-1"
            )
            assert await client.find_charge("cli-1") == charge
        finally:
            await client.close()
    # SIGTERM stops it cleanly.
    assert process.returncode == 0


def test_nothing_is_started_where_a_gateway_already_listens(fake_gateway: FakeGateway) -> None:
    address = urlsplit(fake_gateway.url)
    assert address.hostname is not None and address.port is not None
    with running_fake_gateway(address.hostname, address.port, "sk_other") as process:
        assert process is None


def test_demo_runs_no_fake_gateway_beside_another_gateway(settings: Settings) -> None:
    # The ``settings`` fixture points at the test's own gateway, not the default fake one.
    with fake_gateway_beside(settings) as process:
        assert process is None
