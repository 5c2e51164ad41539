"""gunicorn settings for the service; ``gunicorn.conf.py`` at the top level loads this.

Usable as ``gunicorn ecommerce.main:app -c gunicorn.conf.py`` or through ``ecommerce serve``.
"""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

from ecommerce.launcher import prepare_environment

wsgi_app = "ecommerce.main:app"
worker_class = "uvicorn_worker.UvicornWorker"
bind = os.environ.get("ECOMMERCE_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ECOMMERCE_WORKERS", multiprocessing.cpu_count() * 2 + 1))
# Longer than the slowest request: gateway timeout + database work, with margin.
timeout = int(os.environ.get("ECOMMERCE_WORKER_TIMEOUT", 60))
graceful_timeout = int(os.environ.get("ECOMMERCE_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Recycle workers now and then (leaks in any dependency stay bounded); jitter avoids
# every worker restarting at the same moment.
max_requests = int(os.environ.get("ECOMMERCE_MAX_REQUESTS", 10000))
max_requests_jitter = max_requests // 10
# Our middleware logs one line per request; gunicorn's access log would duplicate it.
accesslog = None
errorlog = "-"


def on_starting(server: Any) -> None:
    # Runs once in the master, before any worker forks.
    prepare_environment()
