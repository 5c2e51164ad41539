"""A real SMTP server for tests (aiosmtpd) on a free loopback port, in the test's loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class MailServer:
    url: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    # Refuse this many messages with a 451 (a temporary failure) before accepting.
    refuse_next: int = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 Try again later"
        content = envelope.original_content or envelope.content or b""
        assert isinstance(content, bytes)
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        async with self.arrived:
            self.messages.append(message)
            self.arrived.notify_all()
        return "250 OK"

    async def wait_for(self, count: int, timeout: float = 60.0) -> list[EmailMessage]:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.messages) >= count), timeout
            )
        return list(self.messages)


def plain_body(message: EmailMessage) -> str:
    part: Any = message.get_body(("plain",))
    return str(part.get_content())


def html_body(message: EmailMessage) -> str:
    part: Any = message.get_body(("html",))
    return str(part.get_content())


@pytest.fixture
async def mail_server() -> AsyncIterator[MailServer]:
    target = MailServer()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(target), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target.url = f"smtp://127.0.0.1:{port}"
    yield target
    server.close()
    await server.wait_closed()
