"""Admin reports: the streamed order export and the sales report."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ecommerce.api.dependencies import (
    AdminUser,
    CallerSessionDep,
    DatabaseDep,
    ExportSlotsDep,
    SettingsDep,
)
from ecommerce.api.errors import error_responses
from ecommerce.api.streaming import ClosingStreamingResponse, StartedStream
from ecommerce.core.errors import Forbidden, InvalidInput, NotAuthenticated, ServiceUnavailable
from ecommerce.schemas.report import SalesReport
from ecommerce.services import order_export
from ecommerce.services import report as report_service
from ecommerce.services.order_export import CSV_COLUMNS, MEDIA_TYPES, ExportFormat

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])

_EXPORT_CONTENT: dict[str, Any] = {
    MEDIA_TYPES["ndjson"]: {
        "schema": {"type": "string"},
        "example": '{"id": 1, "user_id": 7, "status": "paid", "items": [{"product_id": 3, '
        '"sku": "MUG-01", "name": "Mug", "unit_price": 1200, "quantity": 2, '
        '"line_total": 2400}], "total": 2400, "currency": "USD", '
        '"created_at": "2025-03-01T10:00:00.000000Z", "updated_at": '
        '"2025-03-01T10:00:01.000000Z", "payment": {"charge_id": "ch_1", '
        '"status": "succeeded"}}\n',
    },
    MEDIA_TYPES["csv"]: {
        "schema": {"type": "string"},
        "example": ",".join(CSV_COLUMNS) + "\r\n",
    },
}


@router.get(
    "/orders/export",
    name="export_orders",
    response_class=ClosingStreamingResponse,
    responses={
        200: {
            "description": "Every order, streamed. NDJSON: one order per line, shaped like "
            "the API's order plus `user_id`. CSV: a header row, then one row per order "
            "line with the order's fields repeated.",
            "content": _EXPORT_CONTENT,
        },
        **error_responses(NotAuthenticated, Forbidden, InvalidInput, ServiceUnavailable),
    },
)
async def export_orders(
    _: AdminUser,
    database: DatabaseDep,
    slots: ExportSlotsDep,
    export_format: Annotated[
        ExportFormat, Query(alias="format", description="`ndjson` (default) or `csv`.")
    ] = "ndjson",
) -> ClosingStreamingResponse:
    """Stream every order in constant memory, from one consistent snapshot.

    The export reads through a database connection of its own, held only while the
    response streams; the request's session is already closed by then.
    """
    filename = order_export.export_filename(export_format)
    # Started here: a busy pool or a database that is down answers 503, not a 200 whose
    # body stops short.
    body = await StartedStream.start(
        order_export.export_orders(database, export_format, slots=slots)
    )
    return ClosingStreamingResponse(
        body,
        media_type=MEDIA_TYPES[export_format],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            # Proxies such as nginx must pass the stream on as it comes, not buffer it.
            "X-Accel-Buffering": "no",
        },
    )


@router.get(
    "/reports/sales",
    name="get_sales_report",
    response_model=SalesReport,
    responses=error_responses(NotAuthenticated, Forbidden, InvalidInput),
)
async def get_sales_report(
    _: AdminUser,
    session: CallerSessionDep,
    settings: SettingsDep,
    start: Annotated[date, Query(description="First UTC day, included (YYYY-MM-DD).")],
    end: Annotated[date, Query(description="UTC day after the last one, excluded.")],
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=report_service.MAX_TOP_PRODUCTS,
            description="How many top products to list (1 to 100).",
        ),
    ] = report_service.DEFAULT_TOP_PRODUCTS,
) -> SalesReport:
    """Orders, units and revenue of paid and shipped orders created in [start, end)."""
    return await report_service.sales_report(
        session, start, end, currency=settings.currency, top=limit
    )
