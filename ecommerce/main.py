"""The application: ``create_app()`` and the module-level ``app`` for gunicorn/uvicorn.

Nothing is connected at import time: the engine, its pool and every other long-lived
resource are made in the lifespan and closed on shutdown, in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from ecommerce.api.endpoints import (
    admin,
    auth,
    cart_discount,
    carts,
    health,
    metrics,
    orders,
    pricing_admin,
    products,
    shipping_zones,
    users,
    webhooks,
)
from ecommerce.api.errors import install_error_handlers
from ecommerce.api.fast_reads import ProductReadMiddleware
from ecommerce.api.guards import BodyLimitMiddleware, SecurityHeadersMiddleware
from ecommerce.api.idempotency import install_replay_handler
from ecommerce.api.middlewares import RequestIdMiddleware, TelemetryMiddleware
from ecommerce.api.openapi import install as install_openapi
from ecommerce.api.recycle import RecycleMiddleware
from ecommerce.api.resources import STATE_KEY, Resources
from ecommerce.core.config import Settings, load_settings
from ecommerce.core.database import Database
from ecommerce.core.embedded_postgres import resolve_database_url
from ecommerce.core.logging import configure_logging
from ecommerce.core.metrics import initialise_series, observe_gateway_request
from ecommerce.core.pg_listener import PgListener
from ecommerce.core.runtime_sampler import instrument
from ecommerce.core.security import configure_hashing
from ecommerce.services import user as user_service
from ecommerce.services.cart_expiry import run_cart_sweeper
from ecommerce.services.catalog_cache import CHANNEL, CatalogCache
from ecommerce.services.consumer import consuming
from ecommerce.services.order_export import ExportSlots
from ecommerce.services.payment import PaymentGateway
from ecommerce.services.reconciler import Reconciler

logger = logging.getLogger("ecommerce")

# Every API router, in the order they are included.
ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    auth.router,
    users.router,
    products.router,
    orders.router,
    carts.router,
    cart_discount.router,
    admin.router,
    shipping_zones.router,
    pricing_admin.router,
    webhooks.router,
    metrics.router,
)


@asynccontextmanager
async def background_task(
    work: Coroutine[Any, Any, None], name: str
) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``work`` for the life of the block; cancel it and wait for it on the way out."""
    task = asyncio.create_task(work, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def ensure_first_admin(settings: Settings, database: Database) -> None:
    """ECOMMERCE_FIRST_ADMIN_*: that admin exists once start-up is done (every worker
    runs this; the insert is arbitrated by the unique e-mail index, so one creates it)."""
    if settings.first_admin_email is None or settings.first_admin_password is None:
        return
    async with database.transaction() as session:
        outcome = await user_service.ensure_admin(
            session, settings.first_admin_email, settings.first_admin_password.get_secret_value()
        )
    if outcome is user_service.AdminOutcome.REFUSED:
        logger.error(
            "ECOMMERCE_FIRST_ADMIN_EMAIL %s belongs to an existing account that is not an "
            "admin: it was NOT promoted (whoever registered it would become admin). To "
            "promote it on purpose: ecommerce create-admin --email %s --promote-existing",
            settings.first_admin_email,
            settings.first_admin_email,
        )
    elif outcome is not user_service.AdminOutcome.UNCHANGED:
        logger.info("first admin %s: %s", settings.first_admin_email, outcome.value)


# Retry delays of the first-admin bootstrap while the database does not answer.
FIRST_ADMIN_RETRY = (0.2, 5.0)
# How long start-up waits for the first admin before leaving it to the background.
FIRST_ADMIN_WAIT_SECONDS = 5.0


async def first_admin_when_ready(settings: Settings, database: Database) -> None:
    """Ensure the first admin once the database answers: retried with growing delays,
    once per process, so a worker starts (and serves its 503s) while the database is away.
    """
    delay, longest = FIRST_ADMIN_RETRY
    while True:
        try:
            await ensure_first_admin(settings, database)
            return
        except Exception as error:  # the database away, busy, or failing: retry
            logger.warning(
                "first admin not ensured yet (%s); retrying in %.1fs", type(error).__name__, delay
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)


def operation_id(route: APIRoute) -> str:
    return route.name


# How long start-up waits for the catalog listener (the cache serves nothing until it
# listens, so a slow connection only delays the cache, never the start).
LISTENER_START_WAIT = 2.0


@asynccontextmanager
async def catalog_listener(settings: Settings, database: Database) -> AsyncIterator[CatalogCache]:
    """The worker's catalog cache and, when it is on, the LISTEN that keeps it fresh."""
    cache = CatalogCache(settings.catalog_cache_ttl)
    if not cache.enabled:
        yield cache
        return
    listener = PgListener.for_engine(
        database.engine,
        CHANNEL,
        on_message=cache.on_notification,
        on_connected=cache.resume,
        on_lost=cache.suspend,
        connect_timeout=settings.db_connect_timeout,
    )
    async with background_task(listener.run(), "catalog-listener"):
        await listener.wait_connected(LISTENER_START_WAIT)
        yield cache


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Resources]]:
        """The composition root: builds every long-lived resource, closes them in reverse."""
        active = settings or load_settings()
        configure_logging(json=active.json_logs, level=active.log_level)
        configure_hashing(active)
        async with AsyncExitStack() as stack:
            # Normally the launcher started the embedded server before forking and
            # exported the URL; resolving here serves a bare `uvicorn ecommerce.main:app`.
            url = await anyio.to_thread.run_sync(
                resolve_database_url, active.database_url, active.data_dir
            )
            database = Database.connect(active, url)
            stack.push_async_callback(database.dispose)
            pool_capacity = active.db_pool_size + active.db_max_overflow
            await stack.enter_async_context(instrument(database, pool_capacity))
            # Every route template and method, as the OpenAPI document lists them.
            initialise_series(
                (method.upper(), path)
                for path, operations in app.openapi()["paths"].items()
                for method in operations
            )
            gateway = PaymentGateway.open(active)  # the one gateway session of this process
            gateway.request_observers.append(observe_gateway_request)
            stack.push_async_callback(gateway.close)
            # Never a reason not to start: with the database away the worker serves
            # /health/live and answers 503 elsewhere, and the admin comes when it is back.
            bootstrap = await stack.enter_async_context(
                background_task(first_admin_when_ready(active, database), "first-admin")
            )
            # With the database up the admin exists once start-up is done; a database
            # that does not answer in time only delays it.
            await asyncio.wait({bootstrap}, timeout=FIRST_ADMIN_WAIT_SECONDS)
            cache = await stack.enter_async_context(catalog_listener(active, database))
            consumer = None
            if active.worker_in_process:
                # Entered after the pool: on the way out it stops (letting its running
                # jobs finish) and closes the webhook session before the pool closes.
                consumer = await stack.enter_async_context(consuming(active, database, url))
            resources = Resources(
                settings=active,
                database=database,
                gateway=gateway,
                reconciler=Reconciler(database, gateway, active),
                export_slots=ExportSlots(active.export_max_concurrent),
                catalog_cache=cache,
                consumer=consumer,
            )
            if active.reconciler_enabled:
                await stack.enter_async_context(
                    background_task(resources.reconciler.run(), "reconciler")
                )
            await stack.enter_async_context(
                background_task(run_cart_sweeper(database, active), "cart-sweeper")
            )
            logger.info("started (environment=%s)", active.environment)
            yield {STATE_KEY: resources}
            logger.info("shutting down")

    app = FastAPIOffline(
        title="ecommerce",
        version="0.1.0",
        summary="Async-first e-commerce backend: catalog, stock, orders, card payments.",
        lifespan=lifespan,
        # Operation ids are the route names (create_order, not FastAPI's default
        # create_order_api_v1_orders_post): generated clients get readable methods.
        generate_unique_id_function=operation_id,
    )
    install_error_handlers(app)
    install_openapi(app)
    install_replay_handler(app)
    for router in ROUTERS:
        app.include_router(router)
    # Innermost: the anonymous read by id skips only FastAPI's routing and dependencies.
    by_id = next(
        r for r in products.router.routes if getattr(r, "endpoint", None) is products.get_product
    )
    app.add_middleware(ProductReadMiddleware, route=by_id)
    app.add_middleware(BodyLimitMiddleware)  # innermost guard: its 413 gets a request id
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RecycleMiddleware)  # counts and drains every request
    # Added last, so outermost: it sees RequestIdMiddleware's last-resort 500s too.
    app.add_middleware(TelemetryMiddleware)
    return app


app = create_app()
