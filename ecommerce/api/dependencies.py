"""Annotated dependency aliases. Resources come from the lifespan via ``request.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.api.middlewares import set_log_user
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import Forbidden, NotAuthenticated
from ecommerce.core.security import INVALID_CREDENTIALS, decode_access_token, token_is_current
from ecommerce.models import User
from ecommerce.repositories.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from ecommerce.services import user as user_service
from ecommerce.services.payment import PaymentGateway


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.state.database
    return database


def get_gateway(request: Request) -> PaymentGateway:
    gateway: PaymentGateway = request.state.gateway
    return gateway


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
GatewayDep = Annotated[PaymentGateway, Depends(get_gateway)]


# auto_error=False: a missing token reaches get_current_user, which answers our own 401
# (JSON ``detail`` + ``WWW-Authenticate: Bearer``). tokenUrl gives /docs its Authorize form.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_optional_user(
    request: Request, token: TokenDep, database: DatabaseDep, settings: SettingsDep
) -> User | None:
    """The signed-in user, or ``None`` without a token. A bad token is 401 even here:
    a client that sent credentials should learn they are wrong, not be served as anonymous.

    The user is read on a short session of its own, not the request's: a route that
    waits on the network (checkout, cancel) must not hold a pooled connection meanwhile.
    """
    if token is None:
        return None
    claims = decode_access_token(token, settings)
    async with database.session() as session:
        user = await user_service.get(session, claims.user_id)
        if user is not None:
            session.expunge(user)  # a plain loaded object, usable after the session ends
    # A valid signature for an account that no longer exists, or a token issued before a
    # password change (revoked).
    if user is None or not token_is_current(claims, user.token_version):
        raise NotAuthenticated(INVALID_CREDENTIALS)
    set_log_user(request, user.id)
    return user


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_session(
    database: DatabaseDep, _: Annotated[User | None, Depends(get_optional_user)]
) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent.

    ``scope="function"`` (below) runs the code after ``yield`` when the endpoint returns,
    not after the response went out (DESIGN rule 5), so a failed commit answers 5xx
    instead of a 201 the database never kept.

    The caller's identity is settled first (on its own short session, released at once),
    so a request never holds two pooled connections: requests that each hold one and
    wait for a second would starve a busy pool until its timeout.
    """
    async with database.session() as session:
        yield session
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("Admins only")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


def get_page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1 to 100).")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200, description="`next_cursor` of the previous page; omit for the first."
        ),
    ] = None,
) -> PageRequest:
    """``limit`` and ``cursor`` of any list endpoint; an invalid cursor is 422."""
    return PageRequest.from_cursor(limit, cursor)


PageParams = Annotated[PageRequest, Depends(get_page_params)]
