"""The ``ecommerce`` command: serve, worker, migrate, create-admin, seed, fake-gateway."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from typing import TypeVar
from urllib.parse import urlsplit

from pydantic import EmailStr, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ecommerce.core.config import ENV_PREFIX, FAKE_GATEWAY_API_KEY, FAKE_GATEWAY_URL, Settings
from ecommerce.core.database import Database
from ecommerce.core.logging import configure_logging
from ecommerce.devtools.fake_gateway import run as run_fake_gateway
from ecommerce.devtools.fake_gateway.process import fake_gateway_beside
from ecommerce.launcher import migrate as run_migrations
from ecommerce.launcher import prepare_environment, settings_or_exit, wait_for_database
from ecommerce.schemas.user import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

Command = Callable[[argparse.Namespace], int]
ResultT = TypeVar("ResultT")


def in_transaction(
    settings: Settings, work: Callable[[AsyncSession], Awaitable[ResultT]]
) -> ResultT:
    """Run ``work`` in one committed transaction on the configured database."""

    async def run() -> ResultT:
        assert settings.database_url is not None, "prepare_environment() sets the URL"
        database = Database.connect(settings, settings.database_url)
        try:
            async with database.transaction() as session:
                return await work(session)
        finally:
            await database.dispose()

    return asyncio.run(run())


def seed_demo_catalog(settings: Settings) -> None:
    from ecommerce.devtools.demo_catalog import seed_catalog

    inserted, total = in_transaction(
        settings, lambda session: seed_catalog(session, settings.currency)
    )
    print(f"demo catalog: {inserted} products added ({total} in the demo catalog)")


def seed_demo_pricing(settings: Settings) -> None:
    from ecommerce.devtools.demo_pricing import DEMO_CODE, seed_pricing

    rates, codes = in_transaction(settings, seed_pricing)
    print(f"demo pricing: {rates} tax rates added; code {DEMO_CODE['code']} ({codes} added)")


def seed_demo_shipping(settings: Settings) -> None:
    from ecommerce.devtools.demo_shipping import DEMO_ZONES, seed_shipping

    added = in_transaction(settings, seed_shipping)
    print(f"demo shipping: {added} zones added ({len(DEMO_ZONES)} in the demo)")


def prepare_demo() -> None:
    """What ``serve --demo`` does after migrations, before the workers start."""
    settings = settings_or_exit()
    seed_demo_catalog(settings)
    seed_demo_pricing(settings)
    seed_demo_shipping(settings)


def run_forwarding_signals(command: list[str]) -> int:
    """Run ``command``, handing SIGTERM and SIGINT on to it; its exit code."""
    child = subprocess.Popen(command)  # noqa: S603 - our own interpreter and module
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _: child.send_signal(received))
    return child.wait()


def serve(args: argparse.Namespace) -> int:
    """Start the database if embedded, migrate, then hand over to gunicorn."""
    if args.workers is not None:
        os.environ["ECOMMERCE_WORKERS"] = str(args.workers)
    if args.bind is not None:
        os.environ["ECOMMERCE_BIND"] = args.bind
    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    assert settings.database_url is not None, "prepare_environment() exports it"
    wait_for_database(settings.database_url, settings.db_wait_seconds)
    run_migrations()
    if args.demo:
        prepare_demo()
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "python:ecommerce.gunicorn_config"]
    if not args.demo:
        # Become gunicorn (same process id) rather than wait for it: in a container this
        # process is PID 1, and SIGTERM from `docker stop` must reach gunicorn's master so
        # workers finish their requests within graceful_timeout.
        os.execv(sys.executable, gunicorn)  # noqa: S606 - our own interpreter and module
    # The demo keeps the fake gateway beside gunicorn and stops it afterwards, so this
    # process stays, passing its stop signals on to gunicorn.
    with ExitStack() as stack:
        stack.enter_context(fake_gateway_beside(settings))
        return run_forwarding_signals(gunicorn)


def migrate(_: argparse.Namespace) -> int:
    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    run_migrations()
    return 0


def worker(_: argparse.Namespace) -> int:
    """Consume the job queue (webhooks, e-mails) until SIGTERM or SIGINT."""
    # Not a gunicorn fleet: its metrics live in its memory and are served by itself
    # (ECOMMERCE_WORKER_METRICS_PORT). Files in a directory shared with `serve` would mix
    # its counts into the web workers' scrape (and theirs into its own), and nobody
    # would clean up after it. Dropped before anything imports prometheus_client.
    shared_metrics_directory = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    from ecommerce.worker import run_worker

    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    if shared_metrics_directory:
        logging.getLogger("ecommerce.worker").info(
            "PROMETHEUS_MULTIPROC_DIR is ignored: a worker keeps its metrics in memory"
        )
    run_migrations()
    assert settings.database_url is not None, "prepare_environment() sets the URL"
    asyncio.run(run_worker(settings, settings.database_url))
    return 0


def fake_gateway(args: argparse.Namespace) -> int:
    """Serve the bundled fake card gateway until interrupted."""
    configure_logging(json=False, level="INFO")
    run_fake_gateway(host=args.host, port=args.port, api_key=args.api_key)
    return 0


def seed_synthetic_orders(settings: Settings, orders: int) -> None:
    """Append ``orders`` generated orders, with a progress bar and a summary."""
    from rich.console import Console
    from rich.progress import MofNCompleteColumn, Progress, TaskID, TimeRemainingColumn

    from ecommerce.devtools.synthetic_orders import SyntheticOrdersSummary
    from ecommerce.devtools.synthetic_orders import seed_synthetic_orders as generate

    console = Console()

    async def run() -> SyntheticOrdersSummary:
        assert settings.database_url is not None, "prepare_environment() sets the URL"
        database = Database.connect(settings, settings.database_url)
        columns = (
            *Progress.get_default_columns()[:-1],
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        try:
            with Progress(*columns, console=console) as progress:
                tasks: dict[str, TaskID] = {}

                def report(phase: str, done: int, total: int) -> None:
                    if phase not in tasks:
                        tasks[phase] = progress.add_task(phase, total=total)
                    progress.update(tasks[phase], completed=done)

                return await generate(database, orders, currency=settings.currency, progress=report)
        finally:
            await database.dispose()

    try:
        summary = asyncio.run(run())
    except ValueError as error:
        raise SystemExit(f"seed: {error}") from None
    shares = ", ".join(
        f"{status} {count / summary.orders:.1%}" for status, count in summary.statuses.most_common()
    )
    console.print(
        f"order history: {summary.customers:,} customers, {summary.orders:,} orders, "
        f"{summary.lines:,} lines in {summary.seconds:.1f} s "
        f"({summary.rows_per_second:,.0f} rows/s)\nstatuses: {shares}",
        soft_wrap=True,
    )


def stop_db(_: argparse.Namespace) -> int:
    """Stop the embedded PostgreSQL (it keeps running between starts on purpose)."""
    from ecommerce.core.embedded_postgres import stop_server

    settings = settings_or_exit()
    stopped = stop_server(settings.data_dir)
    print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    return 0


def seed(args: argparse.Namespace) -> int:
    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    run_migrations()
    seed_demo_catalog(settings)
    if args.orders:
        seed_synthetic_orders(settings, args.orders)
    return 0


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _admin_password(args: argparse.Namespace) -> str:
    """From stdin (``--password-stdin``), else ECOMMERCE_FIRST_ADMIN_PASSWORD, else a
    prompt: never from the command line, where ``ps`` and shell histories show it."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    from_env = os.environ.get(ENV_PREFIX + "FIRST_ADMIN_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise SystemExit(
            "create-admin: no password: give --password-stdin or set ECOMMERCE_FIRST_ADMIN_PASSWORD"
        )
    password = getpass.getpass("Admin password: ")
    if password != getpass.getpass("Repeat it: "):
        raise SystemExit("create-admin: the passwords differ")
    return password


def create_admin(args: argparse.Namespace) -> int:
    """Create the admin; an existing customer is made admin only with
    ``--promote-existing``; its password is kept unless ``--reset-password``. Safe to run
    while the service runs, or twice."""
    from ecommerce.services.user import AdminOutcome, ensure_admin

    settings = prepare_environment()
    configure_logging(json=settings.json_logs, level=settings.log_level)
    raw_email = args.email or settings.first_admin_email
    if not raw_email:
        raise SystemExit("create-admin: give --email (or set ECOMMERCE_FIRST_ADMIN_EMAIL)")
    try:
        email = TypeAdapter(EmailStr).validate_python(raw_email)
    except ValidationError:
        raise SystemExit(f"create-admin: {raw_email!r} is not a valid e-mail address") from None
    password = _admin_password(args)
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise SystemExit(
            f"create-admin: the password needs {PASSWORD_MIN_LENGTH} to "
            f"{PASSWORD_MAX_LENGTH} characters"
        )
    run_migrations()
    outcome = in_transaction(
        settings,
        lambda session: ensure_admin(
            session,
            email,
            password,
            reset_password=args.reset_password,
            promote_existing=args.promote_existing,
        ),
    )
    if outcome is AdminOutcome.REFUSED:
        raise SystemExit(
            f"create-admin: {email} is an existing customer account; add --promote-existing "
            "to make it admin on purpose"
        )
    print(f"admin {email}: {outcome.value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ecommerce", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="migrate, then serve with gunicorn + uvicorn workers")
    p.add_argument("--workers", type=int, help="worker processes (default: 2 x cores + 1)")
    p.add_argument("--bind", help="address:port (default 127.0.0.1:8000)")
    p.add_argument(
        "--demo",
        action="store_true",
        help="load the demo catalog and run the fake gateway beside the service",
    )
    p.set_defaults(handler=serve)

    p = sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    p.set_defaults(handler=migrate)

    fake = urlsplit(FAKE_GATEWAY_URL)
    p = sub.add_parser("worker", help="consume the job queue: webhooks and e-mails")
    p.set_defaults(handler=worker)

    p = sub.add_parser("fake-gateway", help="serve the bundled fake card gateway")
    p.add_argument("--host", default=fake.hostname, help=f"default {fake.hostname}")
    p.add_argument("--port", type=int, default=fake.port, help=f"default {fake.port}")
    p.add_argument(
        "--api-key", default=FAKE_GATEWAY_API_KEY, help="expected Bearer key (default: test key)"
    )
    p.set_defaults(handler=fake_gateway)

    p = sub.add_parser("stop-db", help="stop the embedded PostgreSQL under ECOMMERCE_DATA_DIR")
    p.set_defaults(handler=stop_db)

    p = sub.add_parser("seed", help="load the demo catalog (adds missing products only)")
    p.add_argument(
        "--orders",
        type=positive_int,
        metavar="N",
        help="also append N generated orders over the last six months, with their customers "
        "(each run appends more; stock is not touched)",
    )
    p.set_defaults(handler=seed)

    p = sub.add_parser("create-admin", help="create an admin, or make an existing user admin")
    p.add_argument("--email", help="default: ECOMMERCE_FIRST_ADMIN_EMAIL")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin (default: "
        "ECOMMERCE_FIRST_ADMIN_PASSWORD, else asked, not echoed; never an argument, "
        "which ps would show)",
    )
    p.add_argument(
        "--reset-password",
        action="store_true",
        help="also set this password when the user exists already (revokes its tokens)",
    )
    p.add_argument(
        "--promote-existing",
        action="store_true",
        help="make an existing customer account admin (refused without it)",
    )
    p.set_defaults(handler=create_admin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Command = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
