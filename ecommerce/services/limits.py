"""Limits on what one account or client may do in a window (steps: they only flush).

Every limit is a counter in PostgreSQL (``repositories.limit``), so it holds across every
worker and every instance with no extra server. Three are built in:

- ``login``: failed sign-ins (and wrong current passwords) per e-mail;
- ``decline``: declined charges per user (card testing);
- ``client``: requests per client address on register, sign-in and order creation, off
  unless ``ECOMMERCE_CLIENT_RATE_LIMIT`` is set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.errors import TooManyRequests
from ecommerce.repositories import limit as limit_repo
from ecommerce.repositories.limit import LockKey, Window

# One counted event in this many also deletes a batch of passed windows: the table stays
# as small as the set of live windows without a job of its own.
PURGE_ONE_IN = 200


@dataclass(frozen=True)
class Limit:
    """At most ``max_hits`` events per subject within ``window_seconds``."""

    name: str
    max_hits: int
    window_seconds: float
    detail: str

    def key(self, subject: str) -> str:
        return f"{self.name}:{subject}"[:400]

    def refuse(self, window: Window) -> TooManyRequests:
        return TooManyRequests(self.detail, retry_after=window.retry_after)


@dataclass(frozen=True)
class Attempt:
    """An event counted before its outcome was known; ``forgive`` takes it back."""

    limit: Limit
    key: str
    window: Window


def login_limit(settings: Settings) -> Limit:
    return Limit(
        "login",
        settings.login_max_failures,
        settings.login_window_seconds,
        "Too many failed sign-ins for this account; retry later",
    )


def decline_limit(settings: Settings) -> Limit:
    return Limit(
        "decline",
        settings.decline_limit,
        settings.decline_window_seconds,
        "Too many declined payments; retry later",
    )


def client_limit(settings: Settings) -> Limit | None:
    if settings.client_rate_limit is None:
        return None
    return Limit(
        "client",
        settings.client_rate_limit,
        settings.client_rate_window_seconds,
        "Too many requests from this address; retry later",
    )


def login_subject(email: str) -> str:
    # E-mails are unique case-insensitively, so the limit is too.
    return email.strip().lower()


async def _count(session: AsyncSession, limit: Limit, key: str) -> Window:
    window = await limit_repo.hit(session, key, limit.window_seconds)
    if random.randrange(PURGE_ONE_IN) == 0:
        await limit_repo.purge_expired(session)
    return window


async def check(
    session: AsyncSession,
    limit: Limit,
    subject: str,
    *,
    lock: LockKey | None = None,
) -> None:
    """``TooManyRequests`` when ``subject`` used up its events in the live window.

    ``lock``: an advisory transaction lock the caller needs, taken in the same round trip."""
    window = await limit_repo.peek(session, limit.key(subject), lock=lock)
    if window is not None and window.hits >= limit.max_hits:
        raise limit.refuse(window)


async def record(session: AsyncSession, limit: Limit, subject: str) -> Window:
    """Count one event (a failure, a decline) that has happened."""
    return await _count(session, limit, limit.key(subject))


async def attempt(session: AsyncSession, limit: Limit, subject: str) -> Attempt:
    """Count an event before doing it; ``TooManyRequests`` past the limit.

    Counting first makes the limit exact under concurrency: of any number of parallel
    attempts exactly ``max_hits`` per window get through. A success that should not count
    (a right password) is taken back with ``forgive``.
    """
    key = limit.key(subject)
    window = await _count(session, limit, key)
    if window.hits > limit.max_hits:
        raise limit.refuse(window)
    return Attempt(limit, key, window)


async def forgive(session: AsyncSession, counted: Attempt) -> None:
    """Take back an attempt that turned out not to be a failure."""
    await limit_repo.unhit(session, counted.key, counted.window.window_started_at)


async def reset(session: AsyncSession, limit: Limit, subject: str) -> None:
    await limit_repo.clear(session, limit.key(subject))
