"""Webhook endpoints and their deliveries, as the admin API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ecommerce.models import EventType

MAX_URL_LENGTH = 2048


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL at all (``None``: its shape is fine)."""
    if len(url) > MAX_URL_LENGTH:
        return f"the URL is longer than {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return "the URL cannot be parsed"
    if parts.scheme not in ("http", "https"):
        return "the URL must start with http:// or https://"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username is not None or parts.password is not None:
        return "the URL must not carry credentials"
    if any(ch.isspace() for ch in url):
        return "the URL must not contain spaces"
    return None


class WebhookCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"url": "https://example.com/hooks/shop", "events": ["order.paid", "order.shipped"]}
            ]
        },
    )

    url: Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]
    events: Annotated[list[EventType], Field(min_length=1, max_length=len(EventType))]

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("events")
    @classmethod
    def _distinct(cls, events: list[EventType]) -> list[EventType]:
        return list(dict.fromkeys(events))


class WebhookRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    events: list[str]
    is_active: bool
    created_at: datetime


class WebhookCreated(WebhookRead):
    secret: str = Field(
        description="The signing secret (`whsec_...`). Shown only in this answer: keep it.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookDeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    type: str
    status: str = Field(description="`pending`, `succeeded` or `failed`.")
    attempts: int
    last_status_code: int | None
    next_attempt_at: datetime | None
