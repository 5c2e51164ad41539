"""Pure parts of events, webhooks and e-mail: delays, classification, addresses, rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from ecommerce.core.config import Settings
from ecommerce.schemas.webhook import url_problem
from ecommerce.services.jobs import retry_delay
from ecommerce.services.mail import money, render
from ecommerce.services.mailer import SmtpTarget
from ecommerce.services.webhook_address import is_public
from ecommerce.services.webhook_client import AttemptOutcome, classify, signed_headers
from ecommerce.services.webhooks import new_secret


def test_retry_delays_double_from_the_base_up_to_an_hour() -> None:
    delays = [retry_delay(5, attempt) for attempt in range(1, 13)]
    assert delays[:4] == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert max(delays) == timedelta(hours=1)
    assert delays == sorted(delays)


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, AttemptOutcome.SUCCEEDED),
        (204, AttemptOutcome.SUCCEEDED),
        (500, AttemptOutcome.RETRYABLE_STATUS),
        (503, AttemptOutcome.RETRYABLE_STATUS),
        (408, AttemptOutcome.RETRYABLE_STATUS),
        (429, AttemptOutcome.RETRYABLE_STATUS),
        (410, AttemptOutcome.GONE),
        (400, AttemptOutcome.REJECTED),
        (404, AttemptOutcome.REJECTED),
        (302, AttemptOutcome.REJECTED),
    ],
)
def test_answers_are_classified(status: int, outcome: AttemptOutcome) -> None:
    assert classify(status) is outcome
    assert outcome.retryable == (outcome is AttemptOutcome.RETRYABLE_STATUS)


def test_the_signature_verifies_with_standardwebhooks() -> None:
    secret = new_secret()
    body = '{"id": "evt_1", "type": "order.paid"}'
    headers = signed_headers(secret, "evt_1", body, datetime.now(UTC))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers)["type"] == "order.paid"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://example.com/hook", True),
        ("http://127.0.0.1:8080/x?y=1", True),
        ("ftp://example.com/", False),
        ("example.com/hook", False),
        ("https://", False),
        ("https://u:p@example.com/", False),
        ("https://example.com:99999/", False),
        ("https://exa mple.com/", False),
        ("https://example.com/" + "a" * 2100, False),
    ],
)
def test_url_shapes(url: str, ok: bool) -> None:
    assert (url_problem(url) is None) is ok


def test_money_is_exact() -> None:
    assert money(1999, "USD") == "19.99 USD"
    assert money(5, "EUR") == "0.05 EUR"
    assert money(123456789, "USD") == "1,234,567.89 USD"


def test_smtp_urls() -> None:
    plain = SmtpTarget.parse("smtp://mail.example.com")
    assert (plain.hostname, plain.port, plain.use_tls) == ("mail.example.com", 25, False)
    tls = SmtpTarget.parse("smtps://user%40x:p%2Fw@mail.example.com:2465")
    assert (tls.port, tls.use_tls, tls.username, tls.password) == (2465, True, "user@x", "p/w")


def test_html_is_autoescaped_and_the_text_is_not() -> None:
    settings = Settings(_env_file=None)
    order = {
        "id": 7,
        "currency": "USD",
        "total": 1000,
        "discount_total": 0,
        "shipping_total": 0,
        "tax_total": 0,
        "discount_code": None,
        "shipping": None,
        "items": [{"quantity": 1, "name": "<b>Mug</b> & co", "sku": "M-1", "line_total": 1000}],
    }
    message = render(
        "order_confirmation",
        "a@example.com",
        {"order": order, "full_name": "<script>x</script>"},
        "order_confirmation.abc",
        settings,
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "&lt;b&gt;Mug&lt;/b&gt; &amp; co" in html
    assert "<b>Mug</b> & co" in text
    assert message["Message-ID"] == "<order_confirmation.abc@example.com>"
    assert "Shipping" not in text and "Tax" not in text


def test_the_confirmation_itemises_discount_shipping_and_tax() -> None:
    order = {
        "id": 8,
        "currency": "EUR",
        "total": 2300,
        "discount_total": 200,
        "shipping_total": 500,
        "tax_total": 300,
        "discount_code": "SPRING",
        "shipping": {"method": "Express", "price": 500},
        "items": [{"quantity": 2, "name": "Mug", "sku": "M-1", "line_total": 1700}],
    }
    message = render(
        "order_confirmation",
        "a@example.com",
        {"order": order, "full_name": None},
        "x",
        Settings(_env_file=None),
    )
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Discount (SPRING): -2.00 EUR" in text
    assert "Shipping (Express): 5.00 EUR" in text
    assert "Tax: 3.00 EUR" in text and "Total: 23.00 EUR" in text


@pytest.mark.parametrize("value", ["http://mail", "smtp://", "smtp://host:port"])
def test_a_bad_smtp_url_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="smtp"):
        Settings(_env_file=None, smtp_url=value)


def test_every_status_change_publishes_one_event_and_nothing_else_does() -> None:
    from ecommerce.services.order_state import PUBLISHED, TRANSITIONS

    changing = {event for event, move in TRANSITIONS.items() if move.changes_status}
    assert set(PUBLISHED) == changing
    targets = {TRANSITIONS[event].to_status for event in PUBLISHED}
    assert {f"order.{status}" for status in targets} == {
        published.value for published in PUBLISHED.values()
    }


def test_metric_label_values_match_the_enums() -> None:
    from ecommerce.core import metrics
    from ecommerce.models import EmailKind
    from ecommerce.services.jobs import JobKind
    from ecommerce.services.mailer import SendOutcome

    assert set(metrics.JOB_KINDS) == {kind.value for kind in JobKind}
    assert set(metrics.WEBHOOK_OUTCOMES) == {outcome.value for outcome in AttemptOutcome}
    assert set(metrics.EMAIL_KINDS) == {kind.value for kind in EmailKind}
    assert set(metrics.EMAIL_OUTCOMES) == {outcome.value for outcome in SendOutcome}
