"""Admin: tax rates per country and discount codes (API.md "Shipping, tax and discounts")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ecommerce.api.dependencies import AdminUser, CallerSessionDep, PageParams
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from ecommerce.core.ids import MAX_ID
from ecommerce.models import Discount, TaxRate
from ecommerce.schemas.common import Page
from ecommerce.schemas.discount import DiscountCreate, DiscountRead, DiscountUpdate
from ecommerce.schemas.tax import TaxRateRead, TaxRateSet
from ecommerce.services import discounts, tax

router = APIRouter(prefix="/api/v1/admin", tags=["admin: tax and discounts"])

ADMIN_ERRORS = (NotAuthenticated, Forbidden)
Country = Annotated[
    str,
    Path(
        min_length=1,
        max_length=8,
        description="ISO 3166-1 alpha-2 country code (any case).",
        examples=["DE"],
    ),
]
DiscountId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Discount id.")]


@router.put(
    "/tax-rates/{country}",
    response_model=TaxRateRead,
    summary="Set a country's tax rate (admin)",
    description="`rate_bps` in basis points (1900 is 19 %), 0..10000. Replaces the "
    "country's rate; orders already placed keep the tax they were charged.",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def set_tax_rate(
    country: Country, data: TaxRateSet, session: CallerSessionDep, _: AdminUser
) -> TaxRate:
    return await tax.set_rate(session, country, data)


@router.get(
    "/tax-rates",
    response_model=Page[TaxRateRead],
    summary="List tax rates (admin)",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def list_tax_rates(
    session: CallerSessionDep, page: PageParams, _: AdminUser
) -> Page[TaxRateRead]:
    rows, next_cursor = await tax.list_rates(session, page)
    return Page(items=[TaxRateRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.delete(
    "/tax-rates/{country}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove a country's tax rate (admin)",
    description="The country then has no tax. 404 when it had no rate.",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput, NotFound),
)
async def delete_tax_rate(country: Country, session: CallerSessionDep, _: AdminUser) -> Response:
    await tax.delete_rate(session, country)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/discounts",
    response_model=DiscountRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a discount code (admin)",
    description="`value`: basis points for `percent` (at most 10000), minor units for "
    "`fixed`. Codes are unique ignoring case (409).",
    responses=error_responses(*ADMIN_ERRORS, Conflict),
)
async def create_discount(
    data: DiscountCreate, session: CallerSessionDep, _: AdminUser
) -> Discount:
    return await discounts.create_discount(session, data)


@router.get(
    "/discounts",
    response_model=Page[DiscountRead],
    summary="List discount codes (admin)",
    responses=error_responses(*ADMIN_ERRORS, InvalidInput),
)
async def list_discounts(
    session: CallerSessionDep, page: PageParams, _: AdminUser
) -> Page[DiscountRead]:
    rows, next_cursor = await discounts.list_discounts(session, page)
    return Page(items=[DiscountRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/discounts/{id}",
    response_model=DiscountRead,
    summary="Get a discount code (admin)",
    responses=error_responses(*ADMIN_ERRORS, NotFound),
)
async def get_discount(
    discount_id: DiscountId, session: CallerSessionDep, _: AdminUser
) -> Discount:
    return await discounts.get_discount(session, discount_id)


@router.patch(
    "/discounts/{id}",
    response_model=DiscountRead,
    summary="Edit a discount code (admin)",
    description="Any field of the creation; null clears `starts_at`, `ends_at`, "
    "`usage_limit`, `per_customer_limit`. `times_used` is not edited.",
    responses=error_responses(*ADMIN_ERRORS, NotFound, Conflict),
)
async def update_discount(
    discount_id: DiscountId, data: DiscountUpdate, session: CallerSessionDep, _: AdminUser
) -> Discount:
    return await discounts.update_discount(session, discount_id, data)
