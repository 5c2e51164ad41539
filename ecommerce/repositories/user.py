"""SQL for users. E-mails are stored as given and compared lowercased.

Uniqueness is decided by the unique index on ``lower(email)``: inserts use it as the
``ON CONFLICT`` arbiter, so two concurrent registrations of the same address cannot
both succeed, and no exception aborts the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import User

_EMAIL_KEY = [func.lower(User.email)]


async def insert_user(
    session: AsyncSession,
    *,
    email: str,
    hashed_password: str,
    full_name: str | None = None,
    is_admin: bool = False,
) -> User | None:
    """Insert a user; ``None`` when the e-mail (in any case) is taken."""
    statement = (
        insert(User)
        .values(
            email=email, hashed_password=hashed_password, full_name=full_name, is_admin=is_admin
        )
        .on_conflict_do_nothing(index_elements=_EMAIL_KEY)
        .returning(User)
    )
    return (await session.scalars(statement)).one_or_none()


async def get_by_id(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_by_email(session: AsyncSession, email: str) -> User | None:
    """The user with this e-mail, case-insensitively (served by the lower(email) index)."""
    statement = select(User).where(func.lower(User.email) == email.lower())
    return (await session.scalars(statement)).one_or_none()


async def make_admin(
    session: AsyncSession, email: str, hashed_password: str | None = None
) -> User | None:
    """Give the user with this e-mail the admin role (and a new password, when given:
    that revokes every token issued before, like any password change)."""
    values: dict[str, object] = {"is_admin": True}
    if hashed_password is not None:
        values["hashed_password"] = hashed_password
        values["token_version"] = User.token_version + 1
    statement = (
        update(User)
        .where(func.lower(User.email) == email.lower())
        .values(**values)
        .returning(User)
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(statement)).one_or_none()


async def set_password(session: AsyncSession, user_id: int, hashed_password: str) -> bool:
    """Store a new password hash and bump the token version (revoking older tokens)."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(hashed_password=hashed_password, token_version=User.token_version + 1)
        .returning(User.id)
    )
    return (await session.scalars(statement)).one_or_none() is not None


async def bump_token_version(session: AsyncSession, user_id: int) -> bool:
    """Make every token issued so far for this user stale."""
    statement = (
        update(User)
        .where(User.id == user_id)
        .values(token_version=User.token_version + 1)
        .returning(User.id)
    )
    return (await session.scalars(statement)).one_or_none() is not None
