"""Password reset by e-mail: a single-use token, stored hashed, valid for a while.

Asking never reveals whether an account exists (the route answers 202 whatever
happens here), and is limited per e-mail address (``ECOMMERCE_PASSWORD_RESET_*``),
counted for unknown addresses too, so nobody can flood an inbox. Using the token sets
the new password through ``credentials.set_password``, which revokes every access token
issued before; the user's other outstanding reset tokens stop working too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from ecommerce.core import security
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import InvalidInput, TooManyRequests
from ecommerce.models import EmailKind
from ecommerce.repositories import password_reset as reset_repository
from ecommerce.repositories import user as user_repository
from ecommerce.services import credentials, limits, mail

logger = logging.getLogger(__name__)

TOKEN_BYTES = 32
UNUSABLE_TOKEN = "The reset token is unknown, already used or expired"  # noqa: S105


def token_hash(token: str) -> str:
    # The token is 256 random bits: a plain SHA-256 is enough (no guessing to slow down).
    return hashlib.sha256(token.encode()).hexdigest()


def reset_link(settings: Settings, token: str) -> str:
    base = str(settings.password_reset_url)
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode({'token': token})}"


def reset_limit(settings: Settings) -> limits.Limit:
    return limits.Limit(
        "password_reset",
        settings.password_reset_max_requests,
        settings.password_reset_window_seconds,
        "Too many password resets for this address; retry later",
    )


async def request_reset(database: Database, settings: Settings, email: str) -> None:
    """Workflow: e-mail a reset link if the account exists and its address is not over
    its limit; otherwise do nothing, silently."""
    async with database.transaction() as session:
        try:
            await limits.attempt(session, reset_limit(settings), limits.login_subject(email))
        except TooManyRequests:
            logger.info("password reset refused: over the limit for this address")
            return
        user = await user_repository.get_by_email(session, email)
        if user is None:
            return
        token = secrets.token_urlsafe(TOKEN_BYTES)
        ttl = timedelta(seconds=settings.password_reset_ttl)
        await reset_repository.add(session, user.id, token_hash(token), ttl)
        await mail.queue_email(
            session,
            kind=EmailKind.PASSWORD_RESET,
            to_address=user.email,
            context={
                "reset_url": reset_link(settings, token),
                "ttl_minutes": max(1, settings.password_reset_ttl // 60),
            },
        )


async def confirm_reset(database: Database, token: str, new_password: str) -> None:
    """Workflow: set the new password if the token is usable (once), revoking every
    access token issued before; ``InvalidInput`` otherwise."""
    hashed_token = token_hash(token)
    # Checked before hashing: a made-up token costs no argon2 time.
    async with database.session() as session:
        if await reset_repository.usable_user_id(session, hashed_token) is None:
            raise InvalidInput(UNUSABLE_TOKEN)
    hashed_password = await security.hash_password(new_password)
    async with database.transaction() as session:
        user_id = await reset_repository.consume(session, hashed_token)
        if user_id is None:  # used or expired meanwhile
            raise InvalidInput(UNUSABLE_TOKEN)
        await credentials.set_password(session, user_id, hashed_password)
        await reset_repository.retire_for_user(session, user_id)
