"""Annotated dependency aliases: the only way endpoints reach the lifespan's resources.

All of them are ``async def``: a plain ``def`` dependency would hop to Starlette's thread
pool on every request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.api.middlewares import set_log_user
from ecommerce.api.resources import STATE_KEY, Resources
from ecommerce.core.config import Settings
from ecommerce.core.database import Database
from ecommerce.core.errors import Forbidden, NotAuthenticated
from ecommerce.core.paging import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from ecommerce.core.security import INVALID_CREDENTIALS, decode_access_token, token_is_current
from ecommerce.models import User
from ecommerce.services import user as user_service
from ecommerce.services.catalog_cache import CatalogCache
from ecommerce.services.order_export import ExportSlots
from ecommerce.services.payment import PaymentGateway
from ecommerce.services.reconciler import Reconciler


async def get_resources(request: Request) -> Resources:
    resources: Resources = getattr(request.state, STATE_KEY)
    return resources


ResourcesDep = Annotated[Resources, Depends(get_resources)]


async def get_settings(resources: ResourcesDep) -> Settings:
    return resources.settings


async def get_database(resources: ResourcesDep) -> Database:
    return resources.database


async def get_gateway(resources: ResourcesDep) -> PaymentGateway:
    return resources.gateway


async def get_reconciler(resources: ResourcesDep) -> Reconciler:
    return resources.reconciler


async def get_export_slots(resources: ResourcesDep) -> ExportSlots:
    return resources.export_slots


async def get_catalog_cache(resources: ResourcesDep) -> CatalogCache:
    return resources.catalog_cache


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
GatewayDep = Annotated[PaymentGateway, Depends(get_gateway)]
ReconcilerDep = Annotated[Reconciler, Depends(get_reconciler)]
ExportSlotsDep = Annotated[ExportSlots, Depends(get_export_slots)]
CatalogCacheDep = Annotated[CatalogCache, Depends(get_catalog_cache)]


# auto_error=False: a missing token reaches get_current_user, which answers our own 401
# (JSON ``detail`` + ``WWW-Authenticate: Bearer``). tokenUrl gives /docs its Authorize form.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
TokenDep = Annotated[str | None, Depends(oauth2_scheme)]


async def get_optional_user(
    request: Request, token: TokenDep, resources: ResourcesDep
) -> User | None:
    """The signed-in user, or ``None`` without a token. A bad token is 401 even here:
    a client that sent credentials should learn they are wrong, not be served as anonymous.

    The user is read on a short session of its own, not the request's: a route that
    waits on the network (checkout, cancel) must not hold a pooled connection meanwhile.
    """
    # Resources, not DatabaseDep + SettingsDep: FastAPI resolves every dependency node
    # on every request (a fifth of a cached catalog read went there), so the routes
    # every request passes through keep their trees small.
    if token is None:
        return None
    claims = decode_access_token(token, resources.settings)
    async with resources.database.read_session() as session:  # one statement: no BEGIN/COMMIT
        user = await user_service.get(session, claims.user_id)
        if user is not None:
            session.expunge(user)  # a plain loaded object, usable after the session ends
    # A valid signature for an account that no longer exists, or a token issued before a
    # password change (revoked).
    if user is None or not token_is_current(claims, user.token_version):
        raise NotAuthenticated(INVALID_CREDENTIALS)
    set_log_user(request, user.id)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


async def get_current_user(user: OptionalUser) -> User:
    if user is None:
        raise NotAuthenticated()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_admin_user(user: CurrentUser) -> User:
    if not user.is_admin:
        raise Forbidden("Admins only")
    return user


AdminUser = Annotated[User, Depends(get_admin_user)]


@asynccontextmanager
async def _request_session(database: Database) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent.

    ``scope="function"`` (below) runs the code after ``yield`` when the endpoint returns,
    not after the response went out (DESIGN rule 5), so a failed commit answers 5xx
    instead of a 201 the database never kept.
    """
    async with database.session() as session:
        yield session
        await session.commit()


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """The request's session, for routes that do not look at the caller."""
    # ``async with``, not ``async for``: when the route raises, the session must be
    # rolled back and its connection returned before the error response goes out.
    async with _request_session(database) as session:
        yield session


async def get_caller_session(database: DatabaseDep, _: OptionalUser) -> AsyncIterator[AsyncSession]:
    """The request's session, opened only once the caller's identity is settled.

    Identity is read on its own short session first, so a request never holds two pooled
    connections at once: requests that each hold one and wait for a second would starve
    a busy pool until its timeout. Use this wherever a route also depends on the caller
    (``OptionalUser``, ``CurrentUser``, ``AdminUser``); FastAPI resolves that dependency
    once per request, so the caller is still checked only once.
    """
    async with _request_session(database) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
CallerSessionDep = Annotated[AsyncSession, Depends(get_caller_session, scope="function")]


async def get_page_params(
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
