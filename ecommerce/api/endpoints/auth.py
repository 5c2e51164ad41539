"""Registration and sign-in (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status
from fastapi.security import OAuth2PasswordRequestForm

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.api.errors import error_responses
from ecommerce.core.errors import Conflict, NotAuthenticated
from ecommerce.core.security import create_access_token
from ecommerce.models import User
from ecommerce.schemas.user import Token, UserCreate, UserRead
from ecommerce.services import user as user_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post(
    "/register",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a customer account",
    description="E-mails are unique whatever their case. Nobody can register as admin: "
    "unknown fields such as `is_admin` are refused with 422.",
    responses=error_responses(Conflict),
)
async def register_user(data: UserCreate, database: DatabaseDep) -> User:
    return await user_service.register(database, data)


@router.post(
    "/token",
    response_model=Token,
    summary="Sign in: exchange e-mail and password for an access token",
    description="OAuth2 password form: `username` is the e-mail. Send the token as "
    "`Authorization: Bearer <access_token>`. A wrong e-mail and a wrong password get "
    "the same 401.",
    responses=error_responses(NotAuthenticated),
)
async def create_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    database: DatabaseDep,
    settings: SettingsDep,
) -> Token:
    # Nothing here looks at a bearer token the client may still send: an expired one
    # must not stop the user from signing in again.
    user = await user_service.authenticate(database, form.username, form.password)
    token, expires_in = create_access_token(user.id, settings)
    return Token(access_token=token, expires_in=expires_in)
