"""The migrations build exactly the schema the models describe (alembic's own comparison)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Base


async def test_no_difference_between_migrations_and_models(admin_engine: AsyncEngine) -> None:
    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with admin_engine.connect() as conn:
        found = await conn.run_sync(differences)
    assert found == [], "a model and the migrations disagree (write a revision):\n" + "\n".join(
        map(str, found)
    )
