"""Password hashing (argon2, off the event loop) and access tokens (JWT, HS256).

Argon2 is deliberately slow and memory-hard (64 MiB per hash with pwdlib's defaults), so
it never runs on the event loop: each hash goes to a worker thread, and a limiter of its
own caps how many run at once. A burst of logins then queues instead of taking every
thread of anyio's default pool (40) and 40 x 64 MiB of memory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import weakref
from datetime import UTC, datetime, timedelta

import anyio
import jwt
from anyio import CapacityLimiter
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ecommerce.core.config import Settings
from ecommerce.core.errors import NotAuthenticated
from ecommerce.core.ids import MAX_ID

JWT_ALGORITHM = "HS256"
INVALID_CREDENTIALS = "Could not validate credentials"

_password_hash = PasswordHash((Argon2Hasher(),))

# Hashes running at once per process: enough to use every core, few enough to bound memory.
HASH_CONCURRENCY = min(8, max(2, os.cpu_count() or 2))
# A limiter belongs to one event loop; tests and tools may run several loops in turn.
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = (
    weakref.WeakKeyDictionary()
)
_dummy_hash: str | None = None


def _limiter() -> CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(HASH_CONCURRENCY)
    return limiter


def hashing_in_progress() -> int:
    """How many password hashes run in worker threads right now (this event loop)."""
    return int(_limiter().borrowed_tokens)


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, computed in a worker thread."""
    return await anyio.to_thread.run_sync(_password_hash.hash, password, limiter=_limiter())


async def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed``, checked in a worker thread."""
    return await anyio.to_thread.run_sync(
        _password_hash.verify, password, hashed, limiter=_limiter()
    )


async def burn_verify_time(password: str) -> None:
    """Spend what a real verification costs, for a login whose e-mail is unknown.

    A missing user then answers as slowly as a wrong password, so response times do not
    reveal which e-mails are registered. The dummy hash is made once, with the same
    hasher and parameters as real ones.
    """
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_urlsafe(16))
    await verify_password(password, _dummy_hash)


def create_access_token(user_id: int, settings: Settings) -> tuple[str, int]:
    """A signed access token for ``user_id`` and its lifetime in seconds."""
    now = datetime.now(UTC)
    ttl = settings.access_token_ttl
    claims = {"sub": str(user_id), "iat": now, "exp": now + timedelta(seconds=ttl)}
    token = jwt.encode(claims, settings.signing_key(), algorithm=JWT_ALGORITHM)
    return token, ttl


def decode_access_token(token: str, settings: Settings) -> int:
    """The user id a valid token names; anything else raises ``NotAuthenticated``.

    The algorithm is pinned: a token signed with another algorithm, or with none
    (``alg: none``), is refused, as are expired and tampered ones.
    """
    try:
        claims = jwt.decode(
            token,
            settings.signing_key(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("Token has expired") from None
    except jwt.InvalidTokenError:
        raise NotAuthenticated(INVALID_CREDENTIALS) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):
        raise NotAuthenticated(INVALID_CREDENTIALS)
    user_id = int(subject)
    if user_id > MAX_ID:
        raise NotAuthenticated(INVALID_CREDENTIALS)
    return user_id
