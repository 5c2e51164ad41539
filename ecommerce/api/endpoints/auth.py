"""Registration and sign-in (OAuth2 password flow)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from ecommerce.api.dependencies import DatabaseDep, SettingsDep
from ecommerce.api.errors import error_responses
from ecommerce.api.limits import ClientLimited
from ecommerce.core.errors import (
    Conflict,
    InvalidInput,
    NotAuthenticated,
    Overloaded,
    TooManyRequests,
)
from ecommerce.core.security import create_access_token
from ecommerce.models import User
from ecommerce.schemas.user import (
    PasswordResetConfirm,
    PasswordResetRequest,
    Token,
    UserCreate,
    UserRead,
)
from ecommerce.services import credentials, password_reset
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


async def password_form(
    *,
    grant_type: Annotated[str | None, Form(pattern="^password$")] = None,
    username: Annotated[str, Form()],
    password: Annotated[str, Form(json_schema_extra={"format": "password"})],
    scope: Annotated[str, Form()] = "",
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form(json_schema_extra={"format": "password"})] = None,
) -> OAuth2PasswordRequestForm:
    """The OAuth2 password form's fields, as ``OAuth2PasswordRequestForm`` declares them,
    solved on the event loop: as a dependency the class itself is built in the thread
    pool (its ``__init__`` is sync), a thread hand-off for every sign-in."""
    return OAuth2PasswordRequestForm(
        grant_type=grant_type,
        username=username,
        password=password,
        scope=scope,
        client_id=client_id,
        client_secret=client_secret,
    )


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
    form: Annotated[OAuth2PasswordRequestForm, Depends(password_form)],
    database: DatabaseDep,
    settings: SettingsDep,
    _: ClientLimited,
) -> Token:
    # Nothing here looks at a bearer token the client may still send: an expired one
    # must not stop the user from signing in again.
    user = await credentials.sign_in(database, settings, form.username, form.password)
    token, expires_in = create_access_token(user.id, settings, user.token_version)
    return Token(access_token=token, expires_in=expires_in)


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    summary="Ask for a password-reset e-mail",
    description="Always 202, whether the e-mail belongs to an account or not. An account "
    "gets an e-mail with a link holding `token=...`: a single-use token valid "
    "`ECOMMERCE_PASSWORD_RESET_TTL` seconds. At most `ECOMMERCE_PASSWORD_RESET_MAX_REQUESTS` "
    "e-mails per address and window are sent; further requests change nothing.",
    responses={202: {"description": "Accepted (nothing is revealed)."}},
)
async def request_password_reset(
    data: PasswordResetRequest, database: DatabaseDep, settings: SettingsDep
) -> Response:
    await password_reset.request_reset(database, settings, data.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Set a new password with a reset token",
    description="Uses the token once and sets the password; every access token issued "
    "before is refused from then on (401). An unknown, used or expired token is 422.",
    responses=error_responses(InvalidInput, Overloaded),
)
async def confirm_password_reset(data: PasswordResetConfirm, database: DatabaseDep) -> Response:
    await password_reset.confirm_reset(database, data.token, data.password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
