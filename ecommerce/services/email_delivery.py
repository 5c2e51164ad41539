"""Sending one queued e-mail: a job's work, once per message as far as SMTP allows.

The row is claimed (a lease, so two jobs never send it at once), the message is sent
outside any transaction and the row is marked sent. A crash between the server's
acceptance and that mark sends it again, with the same ``Message-ID``: that is the
at-least-once bargain, and the Message-ID lets the receiving side see the duplicate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ecommerce.core import metrics
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.models import EmailKind, EmailStatus
from ecommerce.repositories import email as email_repository
from ecommerce.services.jobs import JobKind, enqueue, retry_delay
from ecommerce.services.mail import render
from ecommerce.services.mailer import Mailer, SendOutcome

logger = logging.getLogger(__name__)

LEASE_MARGIN_SECONDS = 30.0
# A reset token is in the row only until the message is out.
_SECRET_CONTEXT = {EmailKind.PASSWORD_RESET.value}


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    to_address: str
    context: dict[str, Any]
    message_id: str
    attempt: int


async def _claim(database: Database, settings: Settings, email_id: int) -> _Claimed | None:
    lease = timedelta(seconds=settings.smtp_timeout + LEASE_MARGIN_SECONDS)
    async with database.transaction() as session:
        row = await email_repository.claim(session, email_id, lease)
        if row is None:
            return None
        return _Claimed(
            id=row.id,
            kind=row.kind,
            to_address=row.to_address,
            context=dict(row.context),
            message_id=row.message_id,
            attempt=row.attempts + 1,
        )


async def send_email(
    database: Database, mailer: Mailer, settings: Settings, email_id: int
) -> EmailStatus | None:
    """Send the message if it is still to be sent; return where it stands."""
    claimed = await _claim(database, settings, email_id)
    if claimed is None:
        return None
    message = render(
        claimed.kind, claimed.to_address, claimed.context, claimed.message_id, settings
    )
    result = await mailer.send(message)
    metrics.email_attempt(claimed.kind, result.outcome.value)
    delay: timedelta | None = None
    if result.outcome in (SendOutcome.SENT, SendOutcome.LOGGED):
        status = EmailStatus.SENT
    elif (
        result.outcome is SendOutcome.TEMPORARY_ERROR
        and claimed.attempt < settings.mail_max_attempts
    ):
        status = EmailStatus.PENDING
        delay = retry_delay(settings.mail_retry_base_seconds, claimed.attempt)
    else:
        status = EmailStatus.FAILED
    async with database.transaction() as session:
        await email_repository.record_attempt(
            session,
            claimed.id,
            status=status,
            error=result.error,
            delay=delay,
            forget_context=status is not EmailStatus.PENDING and claimed.kind in _SECRET_CONTEXT,
        )
        if delay is not None:
            await enqueue(session, JobKind.EMAIL, claimed.id, attempt=claimed.attempt, delay=delay)
    logger.info("e-mail %s (%s) attempt %s: %s", claimed.id, claimed.kind, claimed.attempt, status)
    return status
