"""Password hashing (argon2, off the event loop) and access tokens (JWT, HS256).

Argon2 is deliberately slow and memory-hard (64 MiB per hash with pwdlib's defaults), so
it never runs on the event loop: each hash goes to a worker thread, and only within the
host-wide hashing budget (``hash_slots``: every worker process of the host shares
``ECOMMERCE_HASH_MAX_CONCURRENT`` slots). A burst of logins then queues for a bounded
time (``ECOMMERCE_HASH_WAIT_SECONDS``) and then answers 503, instead of taking every
thread and gigabytes of memory.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import anyio
import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from ecommerce.core.config import Settings
from ecommerce.core.errors import NotAuthenticated
from ecommerce.core.hash_slots import HostSlots, default_slot_dir
from ecommerce.core.ids import MAX_ID

JWT_ALGORITHM = "HS256"
INVALID_CREDENTIALS = "Could not validate credentials"

_password_hash = PasswordHash((Argon2Hasher(),))
T = TypeVar("T")

_dummy_hash: str | None = None
# Until the lifespan configures it (tools, tests), the defaults of the settings.
_slots = HostSlots(
    default_slot_dir(),
    Settings.model_fields["hash_max_concurrent"].default,
    Settings.model_fields["hash_wait_seconds"].default,
)


def configure_hashing(settings: Settings) -> None:
    """Apply ``ECOMMERCE_HASH_*`` to this process (the lifespan calls it)."""
    global _slots
    directory = settings.hash_slot_dir or default_slot_dir()
    _slots = HostSlots(directory, settings.hash_max_concurrent, settings.hash_wait_seconds)


def hashing_in_progress() -> int:
    """How many password hashes this process runs right now (each holds a host slot)."""
    return _slots.in_use_here()


async def _in_budget(function: Callable[..., T], *args: str) -> T:
    # The slot bounds this process's hashing threads too: one thread per held slot.
    async with _slots.slot():
        return await anyio.to_thread.run_sync(function, *args)


async def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, computed in a worker thread within the host's
    hashing budget (``Overloaded`` when no slot frees up in time)."""
    return await _in_budget(_password_hash.hash, password)


async def verify_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches ``hashed``, checked like ``hash_password``."""
    return await _in_budget(_password_hash.verify, password, hashed)


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


@dataclass(frozen=True)
class AccessClaims:
    """What a valid access token says: whose it is and the token version it was issued
    under (``user.token_version`` then; a password change makes older ones stale)."""

    user_id: int
    token_version: int


def create_access_token(
    user_id: int, settings: Settings, token_version: int = 0
) -> tuple[str, int]:
    """A signed access token for ``user_id`` and its lifetime in seconds.

    ``token_version`` must be the user's current ``token_version``: a token issued under
    an older one is refused (see ``token_is_current``).
    """
    now = datetime.now(UTC)
    ttl = settings.access_token_ttl
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "iat": now,
        "exp": now + timedelta(seconds=ttl),
    }
    token = jwt.encode(claims, settings.signing_key(), algorithm=JWT_ALGORITHM)
    return token, ttl


def decode_access_token(token: str, settings: Settings) -> AccessClaims:
    """The claims of a valid token; anything else raises ``NotAuthenticated``.

    The algorithm is pinned: a token signed with another algorithm, or with none
    (``alg: none``), is refused, as are expired and tampered ones. Whether the token is
    still current for its user (not revoked) needs the user: ``token_is_current``.
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
    # Tokens from before versions existed carry none: they belong to version 0.
    version = claims.get("ver", 0)
    if type(version) is not int or not 0 <= version <= MAX_ID:
        raise NotAuthenticated(INVALID_CREDENTIALS)
    return AccessClaims(user_id, version)


def token_is_current(claims: AccessClaims, current_version: int) -> bool:
    """Whether a token was issued under the user's current token version: a password
    change or reset (or ``revoke_tokens``) bumps the version and strands every older one."""
    return claims.token_version == current_version
