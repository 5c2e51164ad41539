"""Tax rates as the admin API takes and shows them: basis points per ISO country."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

MAX_BPS = 10_000  # 100 %


def known_country(code: str) -> str:
    """``code`` upper-cased if it is an ISO 3166-1 alpha-2 country; ``ValueError`` otherwise."""
    upper = code.strip().upper()
    if len(upper) != 2 or not upper.isascii() or pycountry.countries.get(alpha_2=upper) is None:
        raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as DE or US")
    return upper


def _no_control_characters(value: str) -> str:
    if any(unicodedata.category(char) == "Cc" for char in value):
        raise ValueError("must not contain control characters")
    return value


RateBps = Annotated[
    int,
    Field(strict=True, ge=0, le=MAX_BPS, description="Basis points: 1900 is 19 %."),
]
TaxName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_no_control_characters),
]


class TaxRateSet(BaseModel):
    """The rate of one country; replaces the one it had."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"rate_bps": 1900, "name": "MwSt"}]}
    )

    rate_bps: RateBps
    name: TaxName | None = None


class TaxRateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    country: str = Field(description="ISO 3166-1 alpha-2.")
    rate_bps: int = Field(description="Basis points: 1900 is 19 %.")
    name: str | None
    created_at: datetime
    updated_at: datetime
