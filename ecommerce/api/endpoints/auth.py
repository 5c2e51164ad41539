"""Registration and sign-in (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.api.errors import error_responses
from ecommerce.api.limits import ClientLimited
from ecommerce.core.errors import Conflict, NotAuthenticated, Overloaded, TooManyRequests
from ecommerce.core.security import create_access_token
from ecommerce.models import User
from ecommerce.schemas.user import Token, UserCreate, UserRead
from ecommerce.services import credentials
from ecommerce.services import user as user_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a customer account",
    description="E-mails are unique whatever their case. Nobody can register as admin: "
    "unknown fields such as `is_admin` are refused with 422.",
    responses=error_responses(Conflict, TooManyRequests, Overloaded),
)
async def register_user(data: UserCreate, database: DatabaseDep, _: ClientLimited) -> User:
    return await user_service.register(database, data)


@router.post(
    "/token",
    response_model=Token,
    summary="Sign in: exchange e-mail and password for an access token",
    description="OAuth2 password form: `username` is the e-mail. Send the token as "
    "`Authorization: Bearer <access_token>`. A wrong e-mail and a wrong password get "
    "the same 401. After `ECOMMERCE_LOGIN_MAX_FAILURES` failed sign-ins for one e-mail "
    "within `ECOMMERCE_LOGIN_WINDOW_SECONDS`, sign-in for that e-mail answers 429 with "
    "`Retry-After` (even with the right password) until the window has passed.",
    responses=error_responses(NotAuthenticated, TooManyRequests, Overloaded),
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    settings: SettingsDep,
    _: ClientLimited,
) -> Token:
    # No SessionDep here: it would check a bearer token the client may still send, and
    # an expired one must not stop the user from signing in again.
    user = await credentials.sign_in(database, settings, form.username, form.password)
    token, expires_in = create_access_token(user.id, settings, user.token_version)
    return Token(access_token=token, expires_in=expires_in)
