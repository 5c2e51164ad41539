"""The signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter

from ecommerce.api.dependencies import CurrentUser
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import NotAuthenticated
from ecommerce.models import User
from ecommerce.schemas.user import UserRead

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserRead,
    summary="The signed-in user",
    responses=error_responses(NotAuthenticated),
)
async def get_current_user_profile(user: CurrentUser) -> User:
    return user
