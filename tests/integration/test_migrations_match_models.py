"""The migrations build exactly the schema the models describe (alembic's own comparison)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ecommerce.models import Base


async def test_no_difference_between_migrations_and_models(admin_engine: AsyncEngine) -> None:
    # pgqueuer's tables are declared only in part (the columns the service reads, and
    # so test clean-up empties them): their schema is pgqueuer's own install DDL, run by
    # migration 0008, not the models'.
    owned_elsewhere = {t.name for t in Base.metadata.tables.values() if t.info.get("owner")}

    def ours(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        return table not in owned_elsewhere

    def differences(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": ours}
        )
        return list(compare_metadata(context, Base.metadata))

    async with admin_engine.connect() as conn:
        found = await conn.run_sync(differences)
    assert found == [], "a model and the migrations disagree (write a revision):\n" + "\n".join(
        map(str, found)
    )
