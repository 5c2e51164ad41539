"""Annotated dependency aliases. Resources come from the lifespan via ``request.state``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import Settings
from ecommerce.core.database import Database
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


async def get_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """One session per request, committed before the response is sent.

    ``scope="function"`` (below) runs the code after ``yield`` when the endpoint returns,
    not after the response went out (DESIGN rule 5), so a failed commit answers 5xx
    instead of a 201 the database never kept.
    """
    async with database.session() as session:
        yield session
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
