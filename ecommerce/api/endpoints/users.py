"""The signed-in user's own account."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from ecommerce.api.dependencies import CurrentUser, DatabaseDep, SettingsDep
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Forbidden, NotAuthenticated, Overloaded, TooManyRequests
from ecommerce.models import User
from ecommerce.schemas.user import PasswordChange, UserRead
from ecommerce.services import credentials

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get(
    "/me",
    response_model=UserRead,
    summary="The signed-in user",
    responses=error_responses(NotAuthenticated),
)
async def get_current_user_profile(user: CurrentUser) -> User:
    return user


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Change the signed-in user's password",
    description="Every access token issued before the change, this one included, is "
    "refused afterwards (401): sign in again with the new password. A wrong current "
    "password is 403 and counts as a failed sign-in of the account (429 past the limit).",
    responses=error_responses(NotAuthenticated, Forbidden, TooManyRequests, Overloaded),
)
async def change_password(
    data: PasswordChange, user: CurrentUser, database: DatabaseDep, settings: SettingsDep
) -> Response:
    await credentials.change_password(
        database, settings, user, data.current_password, data.new_password
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
