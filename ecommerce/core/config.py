"""Settings: every ``ECOMMERCE_*`` variable of the contract, typed and validated once."""

from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

import pycountry
from pydantic import (
    AnyHttpUrl,
    EmailStr,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "ECOMMERCE_"

# The bundled fake gateway (``ecommerce fake-gateway``) listens here with this key.
FAKE_GATEWAY_URL = "http://127.0.0.1:8090"
FAKE_GATEWAY_API_KEY = "sk_test_ecommerce"


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ConfigError(Exception):
    """A setting is wrong; the message is one line naming the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    environment: Literal["development", "production"] = "development"

    # Unset: the launcher starts an embedded PostgreSQL under ``data_dir``.
    database_url: str | None = None
    data_dir: Path = Path(".data")
    # Per worker process: workers x (pool_size + max_overflow) must fit max_connections.
    # Steady connections rather than overflow: an overflow connection is opened (a new
    # PostgreSQL backend) and closed again whenever load crosses pool_size, which under
    # sustained load is all the time (make bench showed it); a wait for a pooled one is
    # cheaper. Ten per worker keep a small PostgreSQL busy from 2 workers.
    db_pool_size: Annotated[int, Field(ge=1, le=1000)] = 10
    db_max_overflow: Annotated[int, Field(ge=0, le=1000)] = 0
    db_pool_timeout: Annotated[float, Field(gt=0, le=600)] = 10.0
    db_pool_recycle: Annotated[int, Field(ge=-1)] = 1800
    db_statement_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    db_connect_timeout: Annotated[float, Field(gt=0, le=600)] = 10.0
    # `ecommerce serve` waits this long for the database at first start (migrations need
    # it); workers themselves start without it and answer 503 until it is back.
    db_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0

    jwt_secret: SecretStr | None = None
    access_token_ttl: Annotated[int, Field(gt=0, le=30 * 24 * 3600)] = 3600

    first_admin_email: EmailStr | None = None
    first_admin_password: SecretStr | None = None

    payment_gateway_url: AnyHttpUrl = AnyHttpUrl(FAKE_GATEWAY_URL)
    payment_gateway_api_key: SecretStr = SecretStr(FAKE_GATEWAY_API_KEY)
    payment_gateway_timeout: Annotated[float, Field(gt=0, le=300)] = 5.0
    payment_gateway_max_connections: Annotated[int, Field(ge=1, le=1000)] = 50

    reconcile_interval: Annotated[float, Field(gt=0, le=86400)] = 10.0
    # Off: this process never settles orders (another fleet of workers must run it).
    reconciler_enabled: bool = True
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    # Tax (API.md "Totals"): whether catalog and shipping prices contain tax, whether
    # shipping is taxed, and whose rate applies when an order has no address.
    prices_include_tax: bool = False
    tax_shipping: bool = True
    store_country: str = "US"

    # Seconds a worker may serve a public product read (by id, list/search page) from
    # memory. Changes reach every worker within moments through LISTEN/NOTIFY, and the
    # cache is off while its listener is disconnected, so the TTL is only the backstop
    # for a change that was never announced. 0 turns the cache off.
    catalog_cache_ttl: Annotated[float, Field(ge=0, le=3600)] = 60.0

    # Exports streaming at once per worker: each holds a pooled connection meanwhile.
    export_max_concurrent: Annotated[int, Field(ge=1, le=100)] = 2
    idempotency_key_ttl_hours: Annotated[int, Field(ge=24)] = 24
    # A cart untouched (not written) this long expires: 404, then deleted by the sweep.
    # At least 24: a guest's idempotency keys go with the cart, and keys are kept 24 h.
    cart_ttl_hours: Annotated[int, Field(ge=24, le=24 * 366)] = 720
    # Seconds between sweeps deleting expired carts (every worker sweeps; SKIP LOCKED).
    cart_sweep_interval: Annotated[float, Field(gt=0, le=86400)] = 600.0
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # The job queue (events, webhooks, e-mail): web workers consume it too unless off.
    worker_in_process: bool = True
    worker_concurrency: Annotated[int, Field(ge=2, le=1000)] = 8
    # `ecommerce worker` serves GET /metrics and /health/live on this port (0: not at all).
    worker_metrics_port: Annotated[int, Field(ge=0, le=65535)] = 0
    worker_metrics_host: str = "127.0.0.1"
    # None: allowed in development, refused in production.
    webhook_allow_private: bool | None = None
    webhook_retry_base_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    webhook_max_attempts: Annotated[int, Field(ge=1, le=100)] = 12
    webhook_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    smtp_url: str | None = None  # unset: e-mails are written to the log
    smtp_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    mail_from: EmailStr = "shop@example.com"
    shop_name: Annotated[str, Field(min_length=1, max_length=100)] = "ecommerce"
    mail_max_attempts: Annotated[int, Field(ge=1, le=100)] = 12
    mail_retry_base_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    password_reset_ttl: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 3600
    # The storefront page that takes the token: the e-mail links to it with ?token=...
    password_reset_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8000/reset-password")
    password_reset_max_requests: Annotated[int, Field(ge=1, le=1000)] = 5
    password_reset_window_seconds: Annotated[int, Field(ge=1, le=7 * 24 * 3600)] = 3600
    log_json: bool | None = None  # None: JSON in production, readable in development

    # --- Limits and abuse (counters in PostgreSQL: they hold across workers and hosts) ---
    # Failed sign-ins per e-mail within the window; past it sign-in answers 429.
    login_max_failures: Annotated[int, Field(ge=1, le=10_000)] = 10
    login_window_seconds: Annotated[int, Field(ge=1, le=7 * 86400)] = 900
    # Declined charges per user within the window; past it checkout is 429 (card testing).
    decline_limit: Annotated[int, Field(ge=1, le=10_000)] = 5
    decline_window_seconds: Annotated[int, Field(ge=1, le=7 * 86400)] = 3600
    # Per client address on register, sign-in and order creation: off unless set (behind
    # a proxy the address is only right when uvicorn trusts the proxy's headers).
    client_rate_limit: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    client_rate_window_seconds: Annotated[int, Field(ge=1, le=86400)] = 60
    # Request bodies larger than this are refused with 413 before they are read.
    max_body_bytes: Annotated[int, Field(ge=1024, le=1024**3)] = 1024 * 1024
    # Password hashes running at once on this host (every worker shares the slots) and
    # how long a request waits for one before answering 503.
    hash_max_concurrent: Annotated[int, Field(ge=1, le=256)] = max(2, min(8, os.cpu_count() or 2))
    hash_wait_seconds: Annotated[float, Field(gt=0, le=60)] = 5.0
    # Where the host-wide hashing slots live (lock files); unset: a directory under /tmp
    # private to this user.
    hash_slot_dir: Path | None = None

    # --- Money paths ---
    # Orders above this total are refused (422) before anything is reserved: the gateway
    # refuses them anyway, and they would hold stock until the reconciler's grace.
    max_order_total: Annotated[int, Field(ge=1, le=10**15)] = 99_999_999
    # Orders one user may have pending at once (a checkout in flight or unsettled); one
    # more is 429. Stops one account from holding the catalog's stock.
    max_pending_orders: Annotated[int, Field(ge=1, le=10_000)] = 10
    # Seconds after an order was settled as failed (no charge found) at which its charge is
    # looked for again; a charge found late is refunded. Comma-separated, growing.
    late_charge_rechecks: Annotated[tuple[float, ...], NoDecode] = (60, 300, 1800, 7200, 86400)

    @field_validator("late_charge_rechecks", mode="before")
    @classmethod
    def _seconds_list(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            try:
                value = tuple(float(part) for part in parts)
            except ValueError:
                raise ValueError("must be comma-separated seconds, e.g. 60,300,1800") from None
        if isinstance(value, (tuple, list)):
            if not value or len(value) > 50 or any(not 0 < v <= 30 * 86400 for v in value):
                raise ValueError("must be 1 to 50 delays, each 0 < seconds <= 30 days")
            if list(value) != sorted(value):
                raise ValueError("must grow (each delay at least the one before)")
        return value

    @field_validator("database_url")
    @classmethod
    def _asyncpg_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("postgresql+asyncpg://", "postgresql://", "postgres://")):
            raise ValueError("must be a postgresql+asyncpg:// URL")
        rest = value.split("://", 1)[1]
        if not rest or (rest.startswith("/") and "host=" not in rest):
            raise ValueError("must name a host")
        return "postgresql+asyncpg://" + rest

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("smtp", "smtps") or not parsed.hostname:
            raise ValueError("must be smtp://host:port or smtps://host:port")
        try:
            parsed.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise ValueError("the port must be a number") from None
        return value

    @field_validator("store_country")
    @classmethod
    def _iso_country(cls, value: str) -> str:
        upper = value.strip().upper()
        if len(upper) != 2 or pycountry.countries.get(alpha_2=upper) is None:
            raise ValueError("must be an ISO 3166-1 alpha-2 country code, such as US or DE")
        return upper

    @model_validator(mode="after")
    def _safe_for_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.jwt_secret is None or len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("ECOMMERCE_JWT_SECRET: production needs a secret of 32+ characters")
        if self.database_url is None:
            raise ValueError("ECOMMERCE_DATABASE_URL: production needs an external database")
        if (
            str(self.payment_gateway_url).rstrip("/") == FAKE_GATEWAY_URL
            or self.payment_gateway_api_key.get_secret_value() == FAKE_GATEWAY_API_KEY
        ):
            raise ValueError(
                "ECOMMERCE_PAYMENT_GATEWAY_URL: production refuses the bundled fake gateway "
                "and its test key"
            )
        if self.payment_gateway_url.scheme != "https" and not _is_loopback(
            self.payment_gateway_url.host
        ):
            # Card tokens and the API key would cross the network in clear text.
            raise ValueError(
                "ECOMMERCE_PAYMENT_GATEWAY_URL: production needs an https:// gateway "
                "(http:// only on a loopback address)"
            )
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def gateway_base_url(self) -> str:
        return str(self.payment_gateway_url).rstrip("/")

    @property
    def webhooks_may_reach_private(self) -> bool:
        if self.webhook_allow_private is None:
            return not self.is_production
        return self.webhook_allow_private

    @property
    def cart_ttl(self) -> timedelta:
        return timedelta(hours=self.cart_ttl_hours)

    @property
    def idempotency_wait(self) -> float:
        """How long a duplicate request waits for the first one's answer: past a whole
        gateway call, so a normal checkout finishes within it."""
        return self.payment_gateway_timeout + 5

    @property
    def idempotency_lease(self) -> timedelta:
        """After this, a key's holder that never answered is presumed dead and a retry
        takes the key over: well past any checkout (two gateway timeouts and settling)."""
        return timedelta(seconds=max(60.0, 4 * self.payment_gateway_timeout))

    @property
    def json_logs(self) -> bool:
        return self.is_production if self.log_json is None else self.log_json

    def signing_key(self) -> str:
        assert self.jwt_secret is not None, "with_runtime_defaults() fills the JWT secret"
        return self.jwt_secret.get_secret_value()

    def with_runtime_defaults(self) -> Settings:
        """Fill what development may leave unset: a JWT secret random per start."""
        if self.jwt_secret is not None:
            return self
        return self.model_copy(update={"jwt_secret": SecretStr(secrets.token_urlsafe(48))})


def _one_line(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = first.get("loc") or ()
    message = str(first.get("msg", "invalid value"))
    if loc:
        name = ENV_PREFIX + str(loc[0]).upper()
        value = first.get("input")
        shown = (
            ""
            if "secret" in name.lower() or "password" in name.lower() or "SMTP_URL" in name
            else f" (got {value!r})"
        )
        return f"{name}: {message}{shown}"
    # Model-level validators already name their variable.
    return message.removeprefix("Value error, ")


def load_settings() -> Settings:
    """Read settings from the environment, turning any error into one clear line."""
    try:
        return Settings().with_runtime_defaults()
    except ValidationError as error:
        raise ConfigError(_one_line(error)) from None
