"""Run an app's lifespan in a test and reach the resources it built."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from ecommerce.api.resources import STATE_KEY, Resources


@dataclass(frozen=True)
class Running:
    """An app whose lifespan runs: ``asgi`` to send requests to, and its resources."""

    asgi: ASGIApp
    resources: Resources


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[Running]:
    """Start the lifespan (as a server would), stop it on the way out.

    Each request gets a shallow copy of the lifespan state, as servers give it.
    """
    async with app.router.lifespan_context(app) as state:
        lifespan_state: dict[str, Any] = dict(state or {})

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] in ("http", "websocket"):
                scope["state"] = dict(lifespan_state)
            await app(scope, receive, send)

        yield Running(with_state, lifespan_state[STATE_KEY])
