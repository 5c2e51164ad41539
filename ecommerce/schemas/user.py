"""Users and tokens as the API shows them. The password hash never leaves the server."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import email_validator
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema


def _email(value: str) -> str:
    """A syntactically valid address, its domain normalised (as pydantic's EmailStr).

    Unlike EmailStr, special-use domains (``.test``, ``.local``, ...) are accepted: the
    schema says ``format: email``, which they are, and nothing here sends mail to check.
    """
    try:
        return email_validator.validate_email(
            value, check_deliverability=False, globally_deliverable=False, test_environment=True
        ).normalized
    except email_validator.EmailNotValidError as error:
        raise ValueError(f"value is not a valid email address: {error}") from None


Email = Annotated[
    str,
    Field(max_length=320),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "maxLength": 320}),
]

PASSWORD_MIN_LENGTH = 8
# Long enough for any passphrase, short enough that hashing it is not a denial of service.
PASSWORD_MAX_LENGTH = 128

Password = Annotated[str, Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)]


class UserCreate(BaseModel):
    """A customer registering. Unknown fields (``is_admin``...) are refused."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.com",
                    "password": "correct horse battery",
                    "full_name": "Ada Lovelace",
                }
            ]
        },
    )

    email: Email
    password: Password
    full_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    full_name: str | None
    is_admin: bool
    created_at: datetime


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int = Field(description="Seconds until the token expires.")


class PasswordChange(BaseModel):
    """The signed-in user's current password and the new one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"current_password": "correct horse battery", "new_password": "staple tide 42"}
            ]
        },
    )

    current_password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX_LENGTH)]
    new_password: Password


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"email": "ada@example.com"}]}
    )

    email: Email


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"token": "the token from the e-mail", "password": "a new passphrase"}]
        },
    )

    token: Annotated[str, Field(min_length=1, max_length=200)]
    password: Password
