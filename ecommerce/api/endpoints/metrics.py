"""``GET /metrics``: the Prometheus exposition of every worker of this instance."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.core import metrics

router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics, summed over every worker",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format (OpenMetrics when the scraper asks for it)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
async def read_metrics(request: Request, database: DatabaseDep, settings: SettingsDep) -> Response:
    # This worker's pool gauges as of now; the other workers refresh theirs on a timer.
    metrics.record_pool_status(
        database.pool_status(), settings.db_pool_size + settings.db_max_overflow
    )
    body, content_type = await anyio.to_thread.run_sync(
        metrics.render_latest, request.headers.get("accept")
    )
    return Response(body, media_type=content_type)
