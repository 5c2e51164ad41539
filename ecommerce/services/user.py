"""Customers and admins: registration, sign-in, the first admin."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core import security
from ecommerce.core.database import Database
from ecommerce.core.errors import Conflict, NotAuthenticated
from ecommerce.models import User
from ecommerce.repositories import user as user_repo
from ecommerce.schemas.user import UserCreate

# The same answer for an unknown e-mail and a wrong password.
INVALID_LOGIN = "Incorrect email or password"


class AdminOutcome(enum.StrEnum):
    CREATED = "created"
    PROMOTED = "promoted"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an outcome, not a password
    UNCHANGED = "unchanged"
    # The e-mail belongs to a customer and promotion was not asked for: left as it is.
    REFUSED = "refused"


async def register(database: Database, data: UserCreate) -> User:
    """Create a customer account; ``Conflict`` when the e-mail is taken in any case.

    The password is hashed before a pooled connection is taken: a burst of sign-ups
    queues on the hashing threads, not on the database pool.
    """
    hashed = await security.hash_password(data.password)
    async with database.transaction() as session:
        user = await user_repo.insert_user(
            session, email=data.email, hashed_password=hashed, full_name=data.full_name
        )
        if user is None:
            raise Conflict("This e-mail is already registered")
    return user


async def authenticate(database: Database, email: str, password: str) -> User:
    """The user these credentials belong to, or ``NotAuthenticated``.

    An unknown e-mail costs a hash verification too, and both failures raise the same
    error, so neither the body nor the timing tells which one it was. The connection is
    given back before the (slow, memory-hard) verification.
    """
    async with database.session() as session:
        user = await user_repo.get_by_email(session, email)
    if user is None:
        await security.burn_verify_time(password)
        raise NotAuthenticated(INVALID_LOGIN)
    if not await security.verify_password(password, user.hashed_password):
        raise NotAuthenticated(INVALID_LOGIN)
    return user


async def get(session: AsyncSession, user_id: int) -> User | None:
    """The user with this id, if any."""
    return await user_repo.get_by_id(session, user_id)


async def ensure_admin(
    session: AsyncSession,
    email: str,
    password: str,
    *,
    reset_password: bool = False,
    promote_existing: bool = False,
) -> AdminOutcome:
    """Make sure an admin with this e-mail exists; safe when many processes race.

    - no such user: create it as admin with this password;
    - an admin exists: nothing changes, unless ``reset_password`` (which also revokes
      every token issued before);
    - a non-admin exists: ``REFUSED`` and nothing changes, unless ``promote_existing``.
      Whoever registered that e-mail first must not become admin because a setting
      names it (``ECOMMERCE_FIRST_ADMIN_EMAIL`` never promotes); an operator does it on
      purpose with ``ecommerce create-admin --promote-existing``.

    Creation is ``INSERT ... ON CONFLICT DO NOTHING`` on the lower(email) index, so when
    several workers start at once exactly one inserts and the others see the row.
    """
    existing = await user_repo.get_by_email(session, email)
    if existing is None:
        hashed = await security.hash_password(password)
        created = await user_repo.insert_user(
            session, email=email, hashed_password=hashed, full_name="Administrator", is_admin=True
        )
        if created is not None:
            return AdminOutcome.CREATED
        # A concurrent start inserted it first (ON CONFLICT waited for its commit).
        existing = await user_repo.get_by_email(session, email)
        if existing is None:  # pragma: no cover - users are never deleted
            raise Conflict("The user disappeared while being made admin")
    if not existing.is_admin and not promote_existing:
        return AdminOutcome.REFUSED
    if reset_password:
        await user_repo.make_admin(session, email, await security.hash_password(password))
        return AdminOutcome.PASSWORD_RESET
    if existing.is_admin:
        return AdminOutcome.UNCHANGED  # the common restart: no hashing, no write
    await user_repo.make_admin(session, email)
    return AdminOutcome.PROMOTED
