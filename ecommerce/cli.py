"""The ``ecommerce`` command: serve, migrate, create-admin, seed, fake-gateway."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ecommerce.core.logging import configure_logging
from ecommerce.launcher import migrate as run_migrations
from ecommerce.launcher import prepare_environment

Command = Callable[[argparse.Namespace], int]


def serve(args: argparse.Namespace) -> int:
    """Start the database if embedded, migrate, then hand over to gunicorn."""
    if args.workers is not None:
        os.environ["ECOMMERCE_WORKERS"] = str(args.workers)
    if args.bind is not None:
        os.environ["ECOMMERCE_BIND"] = args.bind
    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    run_migrations()
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:ecommerce.gunicorn_config"]
    # Become gunicorn (same process id) rather than wait for it: in a container this
    # process is PID 1, and SIGTERM from `docker stop` must reach gunicorn's master so
    # workers finish their requests within graceful_timeout.
    os.execv(sys.executable, gunicorn)  # noqa: S606 - our own interpreter and module


def migrate(_: argparse.Namespace) -> int:
    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    run_migrations()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecommerce", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate, then serve with gunicorn + uvicorn workers")
    p.add_argument("--workers", type=int, help="worker processes (default: 2 x cores + 1)")
    p.add_argument("--bind", help="address:port (default 127.0.0.1:8000)")
    p.set_defaults(handler=serve)

    p = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.set_defaults(handler=migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
