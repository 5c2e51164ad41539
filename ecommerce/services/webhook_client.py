"""The HTTP client of webhook deliveries: its own aiohttp session, made in the lifespan.

Apart from the payment gateway's session on purpose: a slow or hostile receiver must
not use up the gateway's connections. Every call has a deadline, follows no redirect,
reads at most ``MAX_RESPONSE_BYTES`` of the answer and, unless private addresses are
allowed, connects only to public ones. A call's result is an ``Attempt``; no aiohttp
exception leaves this module.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks.webhooks import Webhook

from ecommerce.core.config import Settings
from ecommerce.services.webhook_address import (
    AddressNotAllowed,
    PublicOnlyResolver,
    check_literal_host,
)

logger = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 4096
CONNECT_TIMEOUT = 5.0
USER_AGENT = "ecommerce-webhooks/1"


class AttemptOutcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    RETRYABLE_STATUS = "retryable_status"  # 5xx, 408, 429
    REJECTED = "rejected"  # any other answer: retrying would not change it
    GONE = "gone"  # 410: the receiver asks us to stop
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    BLOCKED = "blocked"  # the host is (now) a non-public address

    @property
    def retryable(self) -> bool:
        return self in (
            AttemptOutcome.RETRYABLE_STATUS,
            AttemptOutcome.TIMEOUT,
            AttemptOutcome.CONNECTION_ERROR,
        )


@dataclass(frozen=True)
class Attempt:
    outcome: AttemptOutcome
    status_code: int | None = None
    error: str | None = None


def classify(status: int) -> AttemptOutcome:
    if 200 <= status < 300:
        return AttemptOutcome.SUCCEEDED
    if status == 410:
        return AttemptOutcome.GONE
    if status >= 500 or status in (408, 429):
        return AttemptOutcome.RETRYABLE_STATUS
    return AttemptOutcome.REJECTED


def signed_headers(secret: str, event_id: str, body: str, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers: ``webhook-id``, ``-timestamp``, ``-signature``."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=now, data=body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


class WebhookClient:
    def __init__(self, session: aiohttp.ClientSession, *, allow_private: bool) -> None:
        self._session = session
        self._allow_private = allow_private

    @classmethod
    def open(cls, settings: Settings) -> WebhookClient:
        allow_private = settings.webhooks_may_reach_private
        connector = aiohttp.TCPConnector(
            limit=100,
            limit_per_host=10,
            resolver=None if allow_private else PublicOnlyResolver(),
        )
        session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(
                total=settings.webhook_timeout, sock_connect=CONNECT_TIMEOUT
            ),
            # No cookies carried from one receiver's answer to the next call.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        return cls(session, allow_private=allow_private)

    async def close(self) -> None:
        await self._session.close()

    async def send(self, url: str, secret: str, event_id: str, body: str) -> Attempt:
        """POST one signed event; never raises for what the receiver or network does."""
        headers = signed_headers(secret, event_id, body, datetime.now(UTC))
        try:
            if not self._allow_private:
                check_literal_host(url)
            async with self._session.post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                # Bounded: the answer's body is only kept for the admin's diagnosis.
                snippet = await response.content.read(MAX_RESPONSE_BYTES)
                outcome = classify(response.status)
                error = None
                if outcome is not AttemptOutcome.SUCCEEDED:
                    text = snippet.decode("utf-8", "replace").strip()
                    error = f"HTTP {response.status}" + (f": {text[:200]}" if text else "")
                return Attempt(outcome, response.status, error)
        except AddressNotAllowed as exc:
            return Attempt(AttemptOutcome.BLOCKED, error=str(exc))
        except TimeoutError:
            return Attempt(AttemptOutcome.TIMEOUT, error="no answer in time")
        except aiohttp.ClientConnectorError as exc:
            # The resolver's refusal arrives wrapped in a connector error.
            if isinstance(exc.os_error, AddressNotAllowed):
                return Attempt(AttemptOutcome.BLOCKED, error=str(exc.os_error))
            return Attempt(AttemptOutcome.CONNECTION_ERROR, error=type(exc).__name__)
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Attempt(AttemptOutcome.CONNECTION_ERROR, error=type(exc).__name__)
