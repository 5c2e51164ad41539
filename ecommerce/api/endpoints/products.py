"""The catalog: public reads, admin writes, stock moves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from ecommerce.api.dependencies import (
    AdminUser,
    CatalogCacheDep,
    DatabaseDep,
    OptionalUser,
    PageParams,
    ResourcesDep,
    SettingsDep,
)
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from ecommerce.core.ids import MAX_ID
from ecommerce.models import Product
from ecommerce.schemas.common import Page
from ecommerce.schemas.product import (
    ProductCreate,
    ProductRead,
    ProductUpdate,
    StockAdjust,
    product_page_json,
)
from ecommerce.services import catalog, inventory

router = APIRouter(prefix="/api/v1/products", tags=["products"])

# The route template says {id} (as the contract and metrics labels do).
ProductId = Annotated[int, Path(alias="id", ge=1, le=MAX_ID, description="Product id.")]
ADMIN_ERRORS = (NotAuthenticated, Forbidden)


# The public reads take ResourcesDep (one dependency node) rather than DatabaseDep and
# CatalogCacheDep: FastAPI solves each node on every request, and these are the hottest
# routes of the service.


class JSONBytes(Response):
    """JSON already serialized (by schemas.product): sent as it is."""

    media_type = "application/json"


@router.get(
    "",
    response_model=Page[ProductRead],
    summary="List products",
    description="Active products in ascending id, a page at a time. `q` matches the name "
    "or the sku, case-insensitively. Admins also see inactive products; `is_active` "
    "filters them (for everyone else only active products exist).",
    responses=error_responses(InvalidInput, NotAuthenticated),
)
async def list_products(
    resources: ResourcesDep,
    page: PageParams,
    viewer: OptionalUser,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=100,
            description="Case-insensitive substring of the name or the sku.",
            examples=["shirt"],
        ),
    ] = None,
    is_active: Annotated[
        bool | None, Query(description="Admins only: filter on `is_active`.")
    ] = None,
) -> Response:
    # Reads answer JSON made once from rows (the response_model above documents it).
    if viewer is None or not viewer.is_admin:
        if is_active is False:  # inactive products do not exist for the public
            return JSONBytes(product_page_json([], None))
        is_active = True
    view = await catalog.products_page_view(
        resources.database, resources.catalog_cache, page, q=q, is_active=is_active
    )
    return JSONBytes(view)


@router.get(
    "/{id}",
    response_model=ProductRead,
    summary="Get a product",
    description="404 for an inactive product unless the caller is admin.",
    responses=error_responses(NotFound, NotAuthenticated),
)
async def get_product(
    product_id: ProductId, resources: ResourcesDep, viewer: OptionalUser
) -> Response:
    include_inactive = viewer is not None and viewer.is_admin
    view = await catalog.product_view(
        resources.database, resources.catalog_cache, product_id, include_inactive=include_inactive
    )
    return JSONBytes(view)


@router.post(
    "",
    response_model=ProductRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a product (admin)",
    description="`currency` defaults to the store's (`ECOMMERCE_CURRENCY`) and must be it; "
    "`stock` defaults to 0. A duplicate sku is 409.",
    responses=error_responses(*ADMIN_ERRORS, Conflict),
)
async def create_product(
    data: ProductCreate,
    database: DatabaseDep,
    cache: CatalogCacheDep,
    settings: SettingsDep,
    _: AdminUser,
) -> Product:
    return await catalog.create(database, cache, data, settings.currency)


@router.patch(
    "/{id}",
    response_model=ProductRead,
    summary="Edit a product (admin)",
    description="Any of `name`, `description`, `price`, `is_active`. `stock` is not "
    "patched (422): it moves only through `POST /products/{id}/stock`.",
    responses=error_responses(*ADMIN_ERRORS, NotFound),
)
async def update_product(
    product_id: ProductId,
    data: ProductUpdate,
    database: DatabaseDep,
    cache: CatalogCacheDep,
    _: AdminUser,
) -> Product:
    return await catalog.edit(database, cache, product_id, data)


@router.post(
    "/{id}/stock",
    response_model=ProductRead,
    summary="Adjust stock (admin)",
    description="Adds `delta` (negative removes) in one conditional update. A result below "
    "zero is 409 and changes nothing, whatever the concurrency.",
    responses=error_responses(*ADMIN_ERRORS, NotFound, Conflict),
)
async def adjust_stock(
    product_id: ProductId,
    data: StockAdjust,
    database: DatabaseDep,
    cache: CatalogCacheDep,
    _: AdminUser,
) -> Product:
    return await inventory.adjust(database, cache, product_id, data.delta)
