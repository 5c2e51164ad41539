"""The application: ``create_app()`` and the module-level ``app`` for gunicorn/uvicorn.

Nothing is connected at import time: the engine, its pool and every other long-lived
resource are made in the lifespan and closed on shutdown, in reverse order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from ecommerce.api.endpoints import health, metrics
from ecommerce.api.errors import install_error_handlers
from ecommerce.api.middlewares import RequestIdMiddleware, TelemetryMiddleware
from ecommerce.core.config import Settings, load_settings
from ecommerce.core.database import Database
from ecommerce.core.embedded_postgres import ensure_database
from ecommerce.core.logging import configure_logging
from ecommerce.core.metrics import instrument

logger = logging.getLogger("ecommerce")


async def resolve_database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    # Normally the launcher started it before forking and exported the URL; this path
    # serves a bare `uvicorn ecommerce.main:app`. Blocking work goes to a thread.
    return await anyio.to_thread.run_sync(ensure_database, settings.data_dir)


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        active = settings or load_settings()
        configure_logging(json=active.json_logs, level=active.log_level)
        async with AsyncExitStack() as stack:
            database = Database.connect(active, await resolve_database_url(active))
            stack.push_async_callback(database.dispose)
            app.state.database = database  # for tests and tools that hold the app
            pool_capacity = active.db_pool_size + active.db_max_overflow
            await stack.enter_async_context(instrument(database, pool_capacity))
            logger.info("started (environment=%s)", active.environment)
            yield {"settings": active, "database": database}
            logger.info("shutting down")

    app = FastAPI(
        title="ecommerce",
        version="0.1.0",
        summary="Async-first e-commerce backend: catalog, stock, orders, card payments.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.add_middleware(RequestIdMiddleware)
    # Added last, so outermost: it sees RequestIdMiddleware's last-resort 500s too.
    app.add_middleware(TelemetryMiddleware)
    return app


app = create_app()
