"""Per-client (address) limits as a route dependency; off unless configured.

``ECOMMERCE_CLIENT_RATE_LIMIT`` requests per ``ECOMMERCE_CLIENT_RATE_WINDOW_SECONDS`` per
client address, counted in PostgreSQL (shared by every worker and instance). The address
is the ASGI ``client``: behind a reverse proxy it is the proxy's unless uvicorn trusts it
(``--forwarded-allow-ips``), which is why this is off by default.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.services import limits


async def limit_client(request: Request, database: DatabaseDep, settings: SettingsDep) -> None:
    limit = limits.client_limit(settings)
    if limit is None or request.client is None:
        return
    async with database.transaction() as session:
        await limits.attempt(session, limit, request.client.host)


ClientLimited = Annotated[None, Depends(limit_client)]
