"""gunicorn settings for the service; ``gunicorn.conf.py`` at the top level loads this.

Usable as ``gunicorn ecommerce.main:app -c gunicorn.conf.py`` or through ``ecommerce serve``.
Every number can be overridden by an environment variable (see docs/operations.md).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from ecommerce.api.recycle import RECYCLE_ENV
from ecommerce.core.config import Settings
from ecommerce.core.logging import gunicorn_log_config
from ecommerce.launcher import (
    connections_per_worker,
    database_max_connections,
    pool_capacity_problem,
    prepare_environment,
    prepare_metrics_directory,
    settings_or_exit,
)

# A wrong setting stops gunicorn here, with one line, before anything starts.
_settings = settings_or_exit()


def _int_env(name: str, default: int, minimum: int = 0) -> int:
    """A whole number from the environment; anything else stops start-up with one line."""
    value = os.environ.get(name)
    if not value:
        return default
    digits = value.strip()
    if not (digits.isascii() and digits.isdigit()) or int(digits) < minimum:
        print(
            f"configuration error: {name}: must be a whole number of at least {minimum} "
            f"(got {value!r})",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return int(digits)


wsgi_app = "ecommerce.main:app"
worker_class = "uvicorn_worker.UvicornWorker"
bind = os.environ.get("ECOMMERCE_BIND", "127.0.0.1:8000")
workers = _int_env("ECOMMERCE_WORKERS", multiprocessing.cpu_count() * 2 + 1, minimum=1)
# Workers import the app after the fork: metrics then see PROMETHEUS_MULTIPROC_DIR, and
# no pool or event loop is ever shared between processes.
preload_app = False

# The slowest legitimate request: a wait for a pooled connection, a statement running to
# its timeout and a payment gateway call running to its own, plus margin. On shutdown
# (SIGTERM, a deploy) workers get that long to finish what they have started.
_slowest_request = (
    _settings.db_pool_timeout + _settings.db_statement_timeout + _settings.payment_gateway_timeout
)
graceful_timeout = _int_env("ECOMMERCE_GRACEFUL_TIMEOUT", math.ceil(_slowest_request) + 15)
# For uvicorn workers this is a heartbeat, not a request deadline: a worker whose event
# loop stays blocked this long is killed and replaced. Never shorter than a request.
timeout = _int_env("ECOMMERCE_WORKER_TIMEOUT", graceful_timeout)
keepalive = 5
# Recycle workers now and then (leaks in any dependency stay bounded); jitter keeps them
# from restarting all at once. Not gunicorn's max_requests, which stops a worker under
# its kept-alive connections (clients lose requests): the app drains them first
# (api/recycle.py), told in post_fork. 0 turns recycling off.
_recycle_requests = _int_env("ECOMMERCE_MAX_REQUESTS", 10000)
_recycle_jitter = _int_env("ECOMMERCE_MAX_REQUESTS_JITTER", _recycle_requests // 10)
max_requests = 0
# Heartbeat files on tmpfs: a slow disk (a container's overlay) cannot stall them.
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's documented advice, not a temp file
    worker_tmp_dir = "/dev/shm"  # noqa: S108

# gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn): several
# servers on one machine (tests, side-by-side checkouts) would take it from each other.
control_socket_disable = True

# Our middleware logs one line per request; gunicorn's access log would duplicate it.
accesslog = None
errorlog = "-"
loglevel = _settings.log_level.lower()
logconfig_dict = gunicorn_log_config(json=_settings.json_logs, level=_settings.log_level)

_owned_metrics_directory: Path | None = None


def on_starting(server: Any) -> None:
    """Once, in the master, before any worker forks."""
    global _owned_metrics_directory
    settings = prepare_environment()
    _owned_metrics_directory = prepare_metrics_directory()
    check_pool_capacity(server, settings)


def check_pool_capacity(server: Any, settings: Settings) -> None:
    """Warn when every worker's pool, full, would not fit in the database (DESIGN rule 8)."""
    url = settings.database_url
    assert url is not None, "prepare_environment() exports the database URL"
    try:
        max_connections = database_max_connections(url, timeout=settings.db_connect_timeout)
    except Exception as error:  # start anyway: readiness reports a database that is down
        server.log.warning("could not read max_connections: %s", type(error).__name__)
        return
    problem = pool_capacity_problem(settings, server.cfg.workers, max_connections)
    if problem:
        server.log.warning(problem)
    else:
        server.log.info(
            "workers need at most %d database connections (pools, LISTEN, consumers) "
            "of max_connections %d",
            server.cfg.workers * connections_per_worker(settings),
            max_connections,
        )


def post_fork(server: Any, worker: Any) -> None:
    """In each worker, before it loads the app: its recycling plan (api/recycle.py)."""
    os.environ[RECYCLE_ENV] = f"{_recycle_requests},{_recycle_jitter},{keepalive}"


def post_worker_init(worker: Any) -> None:
    """In each worker, once it has imported the app and before it serves: start-up's
    objects out of the garbage collector's full passes (core/heap.py)."""
    from sqlalchemy.orm import configure_mappers

    from ecommerce.core.heap import freeze_startup_objects

    configure_mappers()  # else done by the first query, and its objects left unfrozen
    freeze_startup_objects()


def child_exit(server: Any, worker: Any) -> None:
    """In the master, after a worker exited: forget its live gauges, count the exit."""
    # Imported here, after on_starting exported PROMETHEUS_MULTIPROC_DIR.
    from ecommerce.core.metrics import record_worker_exit

    record_worker_exit(worker.pid)


def on_exit(server: Any) -> None:
    if _owned_metrics_directory is not None:
        shutil.rmtree(_owned_metrics_directory, ignore_errors=True)
