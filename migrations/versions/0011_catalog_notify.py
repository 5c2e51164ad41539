"""product changes NOTIFY the catalog caches (channel ecommerce_catalog)

Every worker of every instance keeps a short-lived cache of public product reads and
LISTENs on ``ecommerce_catalog``. These statement-level triggers send the ids of the
products an INSERT, UPDATE or DELETE touched (comma-separated; "*" past 500 rows or on
TRUNCATE), whoever ran it: admin edits, checkouts taking stock, refunds returning it,
a script. PostgreSQL delivers a NOTIFY only when its transaction commits, and not at
all when it rolls back, so no cache forgets too early or hears of a change that was
never made.

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-01 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTIFY = """
CREATE FUNCTION notify_catalog_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        changed := '*';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT CASE WHEN count(*) > 500 THEN '*' ELSE string_agg(id::text, ',') END
          INTO changed FROM (SELECT id FROM old_rows LIMIT 501) AS touched;
    ELSE
        SELECT CASE WHEN count(*) > 500 THEN '*' ELSE string_agg(id::text, ',') END
          INTO changed FROM (SELECT id FROM new_rows LIMIT 501) AS touched;
    END IF;
    IF changed IS NOT NULL THEN
        PERFORM pg_notify('ecommerce_catalog', changed);
    END IF;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.execute(_NOTIFY)
    # A trigger with transition tables serves one event only: one trigger per event.
    for event, table in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        rows = "new_rows" if table == "NEW" else "old_rows"
        op.execute(
            f"CREATE TRIGGER product_{event.lower()}_notifies AFTER {event} ON product "
            f"REFERENCING {table} TABLE AS {rows} FOR EACH STATEMENT "
            "EXECUTE FUNCTION notify_catalog_changed()"
        )
    op.execute(
        "CREATE TRIGGER product_truncate_notifies AFTER TRUNCATE ON product "
        "FOR EACH STATEMENT EXECUTE FUNCTION notify_catalog_changed()"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS product_{event}_notifies ON product")
    op.execute("DROP FUNCTION IF EXISTS notify_catalog_changed()")
