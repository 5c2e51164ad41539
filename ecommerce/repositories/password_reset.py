"""SQL for password-reset tokens (looked up and consumed by their hash)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.models import PasswordResetToken


async def add(session: AsyncSession, user_id: int, token_hash: str, ttl: timedelta) -> None:
    session.add(
        PasswordResetToken(user_id=user_id, token_hash=token_hash, expires_at=func.now() + ttl)
    )
    await session.flush()


async def usable_user_id(session: AsyncSession, token_hash: str) -> int | None:
    """The user of a token that is neither used nor expired."""
    statement = select(PasswordResetToken.user_id).where(
        PasswordResetToken.token_hash == token_hash,
        PasswordResetToken.used_at.is_(None),
        PasswordResetToken.expires_at > func.now(),
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def consume(session: AsyncSession, token_hash: str) -> int | None:
    """Use the token once (compare-and-set): its user, or ``None`` if it is not usable."""
    statement = (
        update(PasswordResetToken)
        .where(
            PasswordResetToken.token_hash == token_hash,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > func.now(),
        )
        .values(used_at=func.now())
        .returning(PasswordResetToken.user_id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def retire_for_user(session: AsyncSession, user_id: int) -> None:
    """After a reset, every other outstanding token of the user stops working."""
    await session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user_id, PasswordResetToken.used_at.is_(None))
        .values(used_at=func.now())
    )
