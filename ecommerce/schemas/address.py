"""Postal addresses: bounded text without control characters, a real ISO 3166-1 country."""

from __future__ import annotations

import unicodedata
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, StringConstraints


def _no_control_characters(value: str) -> str:
    # Cc: C0/C1 controls (NUL, newlines, escapes), which break labels, CSV and logs.
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _known_country(code: str) -> str:
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as DE or US")
    return code


CountryCode = Annotated[
    str,
    BeforeValidator(_upper),
    StringConstraints(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$"),
    AfterValidator(_known_country),
]
Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
]
OptionalLine = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    AfterValidator(_no_control_characters),
]
City = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_control_characters),
]
PostalCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
    AfterValidator(_no_control_characters),
]
Region = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100),
    AfterValidator(_no_control_characters),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=32, pattern=r"^\+?[0-9 ()./-]*$"),
]


class Address(BaseModel):
    """A postal address; ``country`` is an ISO 3166-1 alpha-2 code (``de`` reads as DE)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Erika Mustermann",
                    "line1": "Heidestrasse 17",
                    "city": "Berlin",
                    "postal_code": "10557",
                    "country": "DE",
                }
            ]
        },
    )

    name: Line
    line1: Line
    line2: OptionalLine | None = None
    city: City
    postal_code: PostalCode
    country: CountryCode
    region: Region | None = None
    phone: Phone | None = None
