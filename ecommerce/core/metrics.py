"""Prometheus metrics: the names of API.md, correct under one process or many workers.

Under gunicorn every worker writes its samples to memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR`` (made and emptied by the master before any worker forks,
see ``launcher.prepare_metrics_directory``), and a scrape, answered by whichever worker
gets it, merges the files of every worker. prometheus_client chooses that file-backed
value class from the environment when ``prometheus_client.values`` is first imported;
workers import the app, and so this module, after the fork, when the master has already
set the variable. Without the variable (a bare uvicorn, tests over ASGI) the same
metrics live in this process's memory and the default registry serves them.

Gauges state how workers combine: ``livesum`` adds the live workers' values and forgets
a dead worker's (``mark_process_dead`` from gunicorn's ``child_exit``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    values,
)
from prometheus_client.exposition import choose_encoder

logger = logging.getLogger(__name__)

MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# One label value for every path no route matched: raw paths would let any client
# create series without end.
UNMATCHED_ROUTE = "unmatched"
# Methods outside this set (any token is a valid HTTP method) share one label value.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
# Seconds between event-loop lag samples (and pool gauge updates): ten a second, so that
# a p99 over a minute rests on hundreds of samples, not on the worst of a few dozen.
LOOP_LAG_INTERVAL = 0.1
LOOP_LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def multiprocess_directory() -> str | None:
    return os.environ.get(MULTIPROC_DIR_ENV) or None


def _value_class_matches_environment() -> None:
    # Had something imported prometheus_client before the launcher exported the
    # directory, every worker would count in memory only and a scrape would show just
    # one of them (or, the variable dropped after the import, write files nobody reads).
    # Choose again, as the library would have with the environment as it is now.
    wanted = bool(multiprocess_directory())
    if wanted != bool(getattr(values.ValueClass, "_multiprocess", False)):
        logger.warning("%s changed after prometheus_client was imported", MULTIPROC_DIR_ENV)
        values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


_value_class_matches_environment()
# Fixed now, with the metrics below: their values live in these files or in memory.
_DIRECTORY = multiprocess_directory()

HTTP_REQUESTS = Counter(
    "http_requests",  # exported as http_requests_total
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "http_requests_in_progress",
    "HTTP requests being handled right now, summed over live workers.",
    multiprocess_mode="livesum",
)
DB_POOL_CONNECTIONS = Gauge(
    "db_pool_connections",
    "Pooled database connections by state (checked_out, idle, overflow), summed over live workers.",
    ["state"],
    multiprocess_mode="livesum",
)
DB_POOL_MAX_CONNECTIONS = Gauge(
    "db_pool_max_connections",
    "Connections the pools may open at most (pool_size + max_overflow per worker), summed "
    "over live workers.",
    multiprocess_mode="livesum",
)
DB_CONNECTION_ACQUIRE = Histogram(
    "db_connection_acquire_seconds",
    "Wait for a pooled database connection (checkout, including connecting when needed).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PAYMENT_GATEWAY_REQUEST = Histogram(
    "payment_gateway_request_seconds",
    "Calls to the payment gateway by operation and outcome.",
    ["operation", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EVENT_LOOP_LAG = Histogram(
    "event_loop_lag_seconds",
    "How late the event loop ran a callback scheduled every "
    f"{LOOP_LAG_INTERVAL} seconds (time it was blocked or saturated).",
    buckets=LOOP_LAG_BUCKETS,
)
ORPHAN_CHARGES = Counter(
    "orphan_charges",  # exported as orphan_charges_total
    "Charges found on orders that were not paid (recorded late by the gateway, or a 2xx "
    "charge whose status, amount or currency was not the order's); each is refunded.",
    ["reason"],
)
ORPHAN_REASONS = ("late", "mismatch")
UNSETTLED_AGE = Gauge(
    "orders_unsettled_oldest_seconds",
    "Seconds since the oldest order in each unsettled state (pending, refund_pending, "
    "refund_due, refund_refused) last moved; 0 when there is none. Set by the reconciler.",
    ["state"],
    multiprocess_mode="livemax",
)
UNSETTLED_STATES = ("pending", "refund_pending", "refund_due", "refund_refused")
WORKER_EXITS = Counter(
    "gunicorn_worker_exits",  # exported as gunicorn_worker_exits_total
    "gunicorn workers that exited (recycled after max_requests, crashed, killed on "
    "timeout or stopped); the master replaces each while it runs.",
)

JOBS_QUEUED = Counter(
    "jobs_queued",  # exported as jobs_queued_total
    "Jobs put on the durable queue by committed transactions, by kind.",
    ["kind"],
)
JOBS_PROCESSED = Counter(
    "jobs_processed",
    "Jobs a consumer ran to the end (their work done, or rescheduled by design), by kind.",
    ["kind"],
)
JOBS_FAILED = Counter(
    "jobs_failed",
    "Jobs whose handler raised (the row they work on stays pending for the sweeper), by kind.",
    ["kind"],
)
JOBS_OLDEST_PENDING_AGE = Gauge(
    "jobs_oldest_pending_age_seconds",
    "Age of the oldest due job no consumer has taken yet (0: none waiting).",
    multiprocess_mode="livemax",
)
WEBHOOK_ATTEMPTS = Counter(
    "webhook_delivery_attempts",
    "Webhook delivery attempts by outcome (succeeded, retryable_status, rejected, gone, "
    "timeout, connection_error, blocked).",
    ["outcome"],
)
EMAIL_ATTEMPTS = Counter(
    "email_send_attempts",
    "E-mail sending attempts by kind and outcome (sent, logged, error).",
    ["kind", "outcome"],
)

# Every metric family this service exports, for docs, dashboards and their tests.
METRIC_FAMILIES = (
    HTTP_REQUESTS,
    HTTP_REQUEST_DURATION,
    HTTP_REQUESTS_IN_PROGRESS,
    DB_POOL_CONNECTIONS,
    DB_POOL_MAX_CONNECTIONS,
    DB_CONNECTION_ACQUIRE,
    PAYMENT_GATEWAY_REQUEST,
    EVENT_LOOP_LAG,
    ORPHAN_CHARGES,
    UNSETTLED_AGE,
    WORKER_EXITS,
    JOBS_QUEUED,
    JOBS_PROCESSED,
    JOBS_FAILED,
    JOBS_OLDEST_PENDING_AGE,
    WEBHOOK_ATTEMPTS,
    EMAIL_ATTEMPTS,
)


def record_orphan_charge(reason: str) -> None:
    ORPHAN_CHARGES.labels(reason).inc()


def record_unsettled_ages(ages: Mapping[str, float]) -> None:
    for state in UNSETTLED_STATES:
        UNSETTLED_AGE.labels(state).set(ages.get(state, 0.0))


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else OTHER_METHOD


def request_started() -> None:
    HTTP_REQUESTS_IN_PROGRESS.inc()


# The labelled children of the two per-request metrics, by (method, route, status):
# ``labels()`` validates, converts and takes the registry's lock on every call; this
# plain dict lookup is all the hot path needs. Bounded: methods are folded into
# KNOWN_METHODS, routes are templates or UNMATCHED_ROUTE, statuses are 3 digits.
_request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def _children(method: str, route: str, status: int) -> tuple[Counter, Histogram]:
    key = (method_label(method), route, status)  # the label, not any token a client sent
    children = _request_children.get(key)
    if children is None:
        children = (
            HTTP_REQUESTS.labels(key[0], route, str(status)),
            HTTP_REQUEST_DURATION.labels(key[0], route),
        )
        _request_children[key] = children
    return children


def request_finished(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request; ``route`` is a route template or ``UNMATCHED_ROUTE``."""
    HTTP_REQUESTS_IN_PROGRESS.dec()
    counter, duration = _children(method, route, status)
    counter.inc()
    duration.observe(seconds)


def observe_db_acquire(seconds: float) -> None:
    """An acquire observer for ``Database.acquire_observers``."""
    DB_CONNECTION_ACQUIRE.observe(seconds)


def observe_gateway_request(operation: str, outcome: str, seconds: float) -> None:
    """A request observer for the payment gateway client: one finished call."""
    PAYMENT_GATEWAY_REQUEST.labels(operation, outcome).observe(seconds)


def observe_loop_lag(seconds: float) -> None:
    EVENT_LOOP_LAG.observe(max(seconds, 0.0))


def record_pool_status(status: Mapping[str, int], capacity: int | None = None) -> None:
    """Set the pool gauges from ``Database.pool_status()`` (this worker's pool)."""
    for state in ("checked_out", "idle", "overflow"):
        DB_POOL_CONNECTIONS.labels(state).set(status.get(state, 0))
    if capacity is not None:
        DB_POOL_MAX_CONNECTIONS.set(capacity)


def jobs_queued(kind: str, count: int = 1) -> None:
    JOBS_QUEUED.labels(kind).inc(count)


def job_finished(kind: str, *, failed: bool) -> None:
    (JOBS_FAILED if failed else JOBS_PROCESSED).labels(kind).inc()


def record_oldest_pending_age(seconds: float) -> None:
    JOBS_OLDEST_PENDING_AGE.set(max(seconds, 0.0))


def webhook_attempt(outcome: str) -> None:
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


def email_attempt(kind: str, outcome: str) -> None:
    EMAIL_ATTEMPTS.labels(kind, outcome).inc()


def record_worker_exit(pid: int) -> None:
    """In the gunicorn master, when a worker is gone: fold its files away, count it."""
    if _DIRECTORY:
        compact_dead_worker(pid, Path(_DIRECTORY))
    WORKER_EXITS.inc()


ARCHIVE = "archive"  # the "pid" of the file that holds what dead workers counted
_ACCUMULATED = ("counter", "histogram", "summary")


def compact_dead_worker(pid: int, directory: Path) -> None:
    """Fold a dead worker's counters and histograms into one archive file per type and
    delete its files, so a scrape reads as many files after a thousand recycles as after
    none (it reads every file in the directory). Its gauges described a process that is
    gone: they are dropped. Runs in the master only (one writer of the archives).
    """
    from prometheus_client.mmap_dict import MmapedDict

    for kind in _ACCUMULATED:
        dead = directory / f"{kind}_{pid}.db"
        if not dead.exists():
            continue
        archive = MmapedDict(str(directory / f"{kind}_{ARCHIVE}.db"))  # type: ignore[no-untyped-call]
        try:
            for key, value, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(dead)):  # type: ignore[no-untyped-call]
                current, _ = archive.read_value(key)  # type: ignore[no-untyped-call]
                archive.write_value(key, current + value, 0.0)  # type: ignore[no-untyped-call]
        finally:
            archive.close()  # type: ignore[no-untyped-call]
        dead.unlink()
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]
    for gauge in directory.glob(f"gauge_*_{pid}.db"):
        gauge.unlink(missing_ok=True)


def initialise_series(routes: Iterable[tuple[str, str]]) -> None:
    """Create every labelled series whose label values are known, at zero, so each
    contract metric is in the first scrape (``rate()`` and alerts need the series to
    exist before the first event): gateway calls by operation and outcome, requests
    by route, orphan charges by reason, unsettled orders by state, pool states."""
    for operation in GATEWAY_OPERATIONS:
        for outcome in GATEWAY_OUTCOMES:
            PAYMENT_GATEWAY_REQUEST.labels(operation, outcome)
    for method, route in routes:
        HTTP_REQUESTS.labels(method_label(method), route, "200")
        HTTP_REQUEST_DURATION.labels(method_label(method), route)
    for reason in ORPHAN_REASONS:
        ORPHAN_CHARGES.labels(reason)
    for state in UNSETTLED_STATES:
        UNSETTLED_AGE.labels(state).set(0)
    initialise_job_series()


def initialise_job_series() -> None:
    """The series of a process that consumes the job queue (web worker or ``ecommerce
    worker``): its pool's states, jobs by kind, webhook and e-mail attempts."""
    for state in ("checked_out", "idle", "overflow"):
        DB_POOL_CONNECTIONS.labels(state)
    for kind in JOB_KINDS:
        for counter in (JOBS_QUEUED, JOBS_PROCESSED, JOBS_FAILED):
            counter.labels(kind)
    for outcome in WEBHOOK_OUTCOMES:
        WEBHOOK_ATTEMPTS.labels(outcome)
    for email_kind in EMAIL_KINDS:
        for outcome in EMAIL_OUTCOMES:
            EMAIL_ATTEMPTS.labels(email_kind, outcome)


GATEWAY_OPERATIONS = ("charge", "lookup", "refund")
# Label values of the job metrics (services/jobs.JobKind, webhook_client.AttemptOutcome,
# models EmailKind, mailer.SendOutcome; a unit test keeps them equal).
JOB_KINDS = ("webhook.deliver", "email.send")
WEBHOOK_OUTCOMES: tuple[str, ...] = ("succeeded", "retryable_status", "rejected", "gone")
WEBHOOK_OUTCOMES += ("timeout", "connection_error", "blocked")
EMAIL_KINDS = ("order_confirmation", "shipping_notice", "password_reset")
EMAIL_OUTCOMES = ("sent", "logged", "temporary_error", "permanent_error")
GATEWAY_OUTCOMES = ("success", "declined", "error", "unavailable", "timeout", "cancelled")


def render_latest(accept: str | None) -> tuple[bytes, str]:
    """The exposition (text or OpenMetrics, as ``accept`` asks) and its content type.

    Blocking (it reads every worker's files): run it in a thread.
    """
    encoder, content_type = choose_encoder(accept or "")
    if _DIRECTORY:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=_DIRECTORY)  # type: ignore[no-untyped-call]
        return encoder(registry), content_type
    return encoder(REGISTRY), content_type
