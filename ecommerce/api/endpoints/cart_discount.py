"""A cart's discount code: one per cart, checked when applied and again at checkout."""

from __future__ import annotations

from fastapi import APIRouter

from ecommerce.api.endpoints.carts import WRITE_ERRORS, CartId, CartWriteDep
from ecommerce.api.errors import error_responses
from ecommerce.schemas.cart import CartRead
from ecommerce.schemas.discount import DiscountCodeApply
from ecommerce.services import cart as cart_service

router = APIRouter(prefix="/api/v1/carts", tags=["carts"])


@router.post(
    "/{id}/discount-code",
    response_model=CartRead,
    summary="Apply a discount code (replacing any)",
    description="Codes are case-insensitive. A code that does not apply is 422 with "
    "`detail` and `reason`: `unknown`, `inactive`, `expired`, `not_yet_valid`, `used_up` "
    "or `below_minimum`. A code that stops applying later (lines removed, expired) stays "
    "on the cart without discounting it, and checkout refuses it with its reason.",
    responses=error_responses(*WRITE_ERRORS),
)
async def apply_discount_code(
    cart_id: CartId, body: DiscountCodeApply, write: CartWriteDep
) -> CartRead:
    return write.answer(
        await cart_service.apply_discount_code(
            write.session, write.settings, write.viewer, cart_id, body.code, write.versions
        )
    )


@router.delete(
    "/{id}/discount-code",
    response_model=CartRead,
    summary="Remove the cart's discount code",
    responses=error_responses(*WRITE_ERRORS),
)
async def remove_discount_code(cart_id: CartId, write: CartWriteDep) -> CartRead:
    return write.answer(
        await cart_service.remove_discount_code(
            write.session, write.settings, write.viewer, cart_id, write.versions
        )
    )
