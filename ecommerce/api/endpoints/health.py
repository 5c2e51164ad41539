from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ecommerce.api.dependencies import DatabaseDep

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/health", tags=["operations"])


# A readiness probe must answer quickly even when the database hangs.
READY_TIMEOUT_SECONDS = 3.0


class HealthStatus(BaseModel):
    status: str


class Unavailable(BaseModel):
    status: str = "unavailable"
    detail: str


@router.get("/live", response_model=HealthStatus, summary="The process serves")
async def live() -> HealthStatus:
    return HealthStatus(status="ok")


@router.get(
    "/ready",
    response_model=HealthStatus,
    summary="The database answers",
    responses={503: {"model": Unavailable, "description": "The database does not answer"}},
)
async def ready(database: DatabaseDep) -> HealthStatus | JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await database.ping()
    except Exception as error:  # any failure to reach the database means "not ready"
        logger.warning("readiness check failed: %s", type(error).__name__)
        body = Unavailable(detail="The database does not answer")
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthStatus(status="ok")
