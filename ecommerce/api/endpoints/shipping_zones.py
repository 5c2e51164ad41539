"""Shipping zones and their methods (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ecommerce.api.dependencies import AdminUser, CallerSessionDep, PageParams
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from ecommerce.core.ids import MAX_ID
from ecommerce.schemas.common import Page
from ecommerce.schemas.shipping import ShippingZoneCreate, ShippingZoneRead, ShippingZoneUpdate
from ecommerce.services import shipping

router = APIRouter(prefix="/api/v1/admin/shipping-zones", tags=["shipping"])

ZoneId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Shipping zone id.")]
ADMIN_ERRORS = (NotAuthenticated, Forbidden)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ShippingZoneRead,
    summary="Create a shipping zone with its countries and methods (admin)",
    description="A country belongs to at most one zone: one that is in another is 409.",
    responses=error_responses(*ADMIN_ERRORS, Conflict, InvalidInput),
)
async def create_shipping_zone(
    body: ShippingZoneCreate, session: CallerSessionDep, _: AdminUser
) -> ShippingZoneRead:
    return shipping.zone_read(await shipping.create_zone(session, body))


@router.get(
    "",
    response_model=Page[ShippingZoneRead],
    summary="List shipping zones (admin)",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def list_shipping_zones(
    session: CallerSessionDep, _: AdminUser, page: PageParams
) -> Page[ShippingZoneRead]:
    rows, next_cursor = await shipping.list_zones(session, page)
    return Page(items=[shipping.zone_read(zone) for zone in rows], next_cursor=next_cursor)


@router.get(
    "/{id}",
    response_model=ShippingZoneRead,
    summary="Get a shipping zone (admin)",
    responses=error_responses(*ADMIN_ERRORS, NotFound),
)
async def get_shipping_zone(
    zone_id: ZoneId, session: CallerSessionDep, _: AdminUser
) -> ShippingZoneRead:
    return shipping.zone_read(await shipping.get_zone(session, zone_id))


@router.patch(
    "/{id}",
    response_model=ShippingZoneRead,
    summary="Change a shipping zone (admin)",
    description="Any of `name`, `countries`, `methods`; a list replaces the zone's list. "
    "Methods sent with their `id` keep it; the zone's methods left out are removed.",
    responses=error_responses(*ADMIN_ERRORS, NotFound, Conflict, InvalidInput),
)
async def update_shipping_zone(
    zone_id: ZoneId, body: ShippingZoneUpdate, session: CallerSessionDep, _: AdminUser
) -> ShippingZoneRead:
    return shipping.zone_read(await shipping.update_zone(session, zone_id, body))


@router.delete(
    "/{id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a shipping zone and its methods (admin)",
    responses=error_responses(*ADMIN_ERRORS, NotFound),
)
async def delete_shipping_zone(zone_id: ZoneId, session: CallerSessionDep, _: AdminUser) -> None:
    await shipping.delete_zone(session, zone_id)
