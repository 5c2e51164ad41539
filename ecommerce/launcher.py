"""What runs once, before any worker forks: settings check, database, migrations.

Used by ``ecommerce serve`` and by gunicorn's ``on_starting`` hook, so plain
``gunicorn -c gunicorn.conf.py`` behaves the same.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from ecommerce.core.config import ENV_PREFIX, ConfigError, Settings, load_settings
from ecommerce.core.embedded_postgres import ensure_database

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def settings_or_exit() -> Settings:
    """Load settings; a wrong value stops start-up with one clear line."""
    try:
        return load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def prepare_environment() -> Settings:
    """Export, for every worker, what must be the same in all of them.

    - the database URL (starting the embedded server once, here, when none is set);
    - in development, one random JWT secret per start (a secret per worker would make
      a token from one worker invalid in the next).
    """
    settings = settings_or_exit()
    if settings.database_url is None:
        os.environ[ENV_PREFIX + "DATABASE_URL"] = ensure_database(settings.data_dir)
    if not os.environ.get(ENV_PREFIX + "JWT_SECRET") and not settings.is_production:
        os.environ[ENV_PREFIX + "JWT_SECRET"] = secrets.token_urlsafe(48)
    return settings_or_exit()


def migrate(database_url: str | None = None) -> None:
    """``alembic upgrade head`` against the configured (or given) database. Blocking."""
    from alembic import command
    from alembic.config import Config

    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logging"] = False  # the caller owns logging
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    url = database_url or os.environ.get(ENV_PREFIX + "DATABASE_URL")
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
