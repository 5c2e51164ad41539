"""Sending a rendered message: SMTP through aiosmtplib, or the log in development.

``ECOMMERCE_SMTP_URL`` is ``smtp://[user:password@]host[:port]`` (STARTTLS when the
server offers it) or ``smtps://...`` (TLS from the first byte). Unset, each message is
written to the log instead, so a developer sees it without a mail server.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from email.message import EmailMessage as MimeMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from ecommerce.core.config import Settings

logger = logging.getLogger(__name__)


class SendOutcome(enum.StrEnum):
    SENT = "sent"
    LOGGED = "logged"
    TEMPORARY_ERROR = "temporary_error"  # network, timeout, 4xx reply: retry
    PERMANENT_ERROR = "permanent_error"  # 5xx reply (recipient refused...): give up


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    error: str | None = None


@dataclass(frozen=True)
class SmtpTarget:
    hostname: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        use_tls = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname or "localhost",
            port=parts.port or (465 if use_tls else 25),
            use_tls=use_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self._target = SmtpTarget.parse(settings.smtp_url) if settings.smtp_url else None
        self._timeout = settings.smtp_timeout
        if self._target is None and settings.is_production:
            logger.warning("ECOMMERCE_SMTP_URL is not set: e-mails are only written to the log")

    @property
    def logs_only(self) -> bool:
        return self._target is None

    async def send(self, message: MimeMessage) -> SendResult:
        target = self._target
        if target is None:
            logger.info(
                "e-mail (no ECOMMERCE_SMTP_URL: logged, not sent)\n%s",
                message.get_body(("plain",)).get_content(),  # type: ignore[union-attr]
                extra={"to": message["To"], "subject": message["Subject"]},
            )
            return SendResult(SendOutcome.LOGGED)
        try:
            await aiosmtplib.send(
                message,
                hostname=target.hostname,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.use_tls,
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [error.code for error in exc.recipients]
            permanent = all(code >= 500 for code in codes)
            outcome = SendOutcome.PERMANENT_ERROR if permanent else SendOutcome.TEMPORARY_ERROR
            return SendResult(outcome, f"recipient refused ({codes})")
        except aiosmtplib.SMTPResponseException as exc:
            outcome = (
                SendOutcome.PERMANENT_ERROR if exc.code >= 500 else SendOutcome.TEMPORARY_ERROR
            )
            return SendResult(outcome, f"SMTP {exc.code}: {exc.message[:200]}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(SendOutcome.TEMPORARY_ERROR, type(exc).__name__)
        return SendResult(SendOutcome.SENT)
