"""Passwords and tokens: throttled sign-in, password change, revocation.

Revocation works by version: every access token carries the ``token_version`` its user
had when it was issued, and ``set_password`` / ``revoke_tokens`` bump it, so every token
issued before is refused at its next use (no blocklist to keep).

For other workflows (a password reset):

- ``reset_password(database, user_id, new_password)``: hash, store, revoke; one call.
- ``set_password(session, user_id, hashed)`` and ``revoke_tokens(session, user_id)``:
  the steps, to run inside a transaction of your own (they flush, never commit).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core import security
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import Forbidden, NotFound
from ecommerce.models import User
from ecommerce.repositories import user as user_repo
from ecommerce.services import limits
from ecommerce.services import user as user_service

WRONG_CURRENT_PASSWORD = "The current password is wrong"  # noqa: S105 - a message


async def set_password(session: AsyncSession, user_id: int, hashed_password: str) -> None:
    """Step: store a new password hash and revoke every token issued before."""
    if not await user_repo.set_password(session, user_id, hashed_password):
        raise NotFound("No such user")


async def revoke_tokens(session: AsyncSession, user_id: int) -> None:
    """Step: every access token issued so far for this user is refused from now on."""
    if not await user_repo.bump_token_version(session, user_id):
        raise NotFound("No such user")


async def reset_password(database: Database, user_id: int, new_password: str) -> None:
    """Workflow: give the user a new password (hashed off the loop, within the host's
    hashing budget) and revoke every token issued before it."""
    hashed = await security.hash_password(new_password)
    async with database.transaction() as session:
        await set_password(session, user_id, hashed)


async def sign_in(database: Database, settings: Settings, email: str, password: str) -> User:
    """The user these credentials belong to; ``NotAuthenticated`` or, past
    ``ECOMMERCE_LOGIN_MAX_FAILURES`` failures in the window for this e-mail,
    ``TooManyRequests`` (then even the right password is refused until the window ends).

    The attempt is counted (and committed) before the password is checked and taken
    back when it was right: parallel guesses cannot slip past the limit, and a refused
    attempt costs no hash.
    """
    limit = limits.login_limit(settings)
    subject = limits.login_subject(email)
    async with database.transaction() as session:
        counted = await limits.attempt(session, limit, subject)
    user = await user_service.authenticate(database, email, password)
    async with database.transaction() as session:
        await limits.forgive(session, counted)
    return user


async def change_password(
    database: Database, settings: Settings, user: User, current_password: str, new_password: str
) -> None:
    """Workflow: the signed-in user changes their password; every older token is revoked.

    A wrong current password is ``Forbidden`` and counts as a failed sign-in of that
    account (the same limit: a stolen token must not become an unthrottled oracle).
    """
    limit = limits.login_limit(settings)
    subject = limits.login_subject(user.email)
    async with database.transaction() as session:
        counted = await limits.attempt(session, limit, subject)
        current = await user_repo.get_by_id(session, user.id)
    if current is None:
        raise NotFound("No such user")
    if not await security.verify_password(current_password, current.hashed_password):
        raise Forbidden(WRONG_CURRENT_PASSWORD)
    hashed = await security.hash_password(new_password)
    async with database.transaction() as session:
        await limits.forgive(session, counted)
        await set_password(session, user.id, hashed)
