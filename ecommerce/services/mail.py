"""E-mail content: queueing a message in the caller's transaction, and rendering it.

A message is a row (who, which template, what context) written with the change that
causes it, plus a job that sends it. Rendering happens when it is sent, from Jinja2
templates under ``ecommerce/templates/email/`` (a plain-text and an HTML body per
kind; HTML autoescaped), so the row stays small and the templates can be fixed
before a retry.
"""

from __future__ import annotations

import uuid
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.models import EmailKind, EmailMessage
from ecommerce.repositories import email as email_repository
from ecommerce.services.jobs import JobKind, enqueue


def money(amount: int, currency: str) -> str:
    """Minor units as a price: 1999, "USD" -> "19.99 USD" (no float on the way)."""
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(amount), 100)
    return f"{sign}{units:,}.{cents:02d} {currency}"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ecommerce", "templates/email"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["money"] = money
    return env


def new_message_id(kind: EmailKind) -> str:
    """The left part of a message's Message-ID, fixed when its row is written."""
    return f"{kind.value}.{uuid.uuid4().hex}"


async def queue_email(
    session: AsyncSession,
    *,
    kind: EmailKind,
    to_address: str,
    context: dict[str, Any],
    order_id: int | None = None,
) -> EmailMessage:
    """Write one message and its sending job in the session's transaction (a step)."""
    message = await email_repository.add(
        session,
        message_id=new_message_id(kind),
        kind=kind.value,
        to_address=to_address,
        context=context,
        order_id=order_id,
    )
    await enqueue(session, JobKind.EMAIL, message.id)
    return message


def message_id_header(local_part: str, settings: Settings) -> str:
    domain = str(settings.mail_from).rpartition("@")[2] or "localhost"
    return f"<{local_part}@{domain}>"


def render(
    kind: str,
    to_address: str,
    context: dict[str, Any],
    message_id: str,
    settings: Settings,
) -> MimeMessage:
    """The MIME message: plain text with an HTML alternative, and a stable Message-ID."""
    env = environment()
    values = {**context, "shop_name": settings.shop_name}
    subject = env.get_template(f"{kind}.subject.txt").render(values).strip()
    values["subject"] = subject
    message = MimeMessage()
    message["From"] = str(settings.mail_from)
    message["To"] = to_address
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id_header(message_id, settings)
    message.set_content(env.get_template(f"{kind}.txt").render(values))
    message.add_alternative(env.get_template(f"{kind}.html").render(values), subtype="html")
    return message
