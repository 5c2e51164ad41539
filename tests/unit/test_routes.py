"""Rules every route of the app keeps, read off its dependency tree (no server, no
database): a route that looks at the caller takes the session that waits for it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ecommerce.api.dependencies import get_caller_session, get_optional_user, get_session
from ecommerce.main import ROUTERS


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        yield from _calls(sub)


ROUTES = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)} {r.path}")
def test_a_route_that_knows_its_caller_uses_the_caller_session(route: APIRoute) -> None:
    calls = set(_calls(route.dependant))
    if get_optional_user in calls:
        # A plain request session would be checked out before the caller's own short
        # session: two pooled connections per request, and a starved pool under load.
        assert get_session not in calls, "use CallerSessionDep with a user dependency"


def test_the_caller_session_settles_the_caller_first() -> None:
    route = next(r for r in ROUTES if r.path == "/api/v1/orders" and r.name == "list_orders")
    calls = set(_calls(route.dependant))
    assert {get_caller_session, get_optional_user} <= calls


def _runs_on_the_loop(call: Callable[..., Any]) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    # An instance with an async __call__ (a security scheme such as OAuth2PasswordBearer);
    # a class is not one: FastAPI builds it in the thread pool (its __init__ is sync).
    method = None if inspect.isclass(call) else getattr(call, "__call__", None)  # noqa: B004
    return method is not None and inspect.iscoroutinefunction(method)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{sorted(r.methods)} {r.path}")
def test_every_route_and_dependency_runs_on_the_event_loop(route: APIRoute) -> None:
    # A plain def (or a class) is solved through Starlette's thread pool: a thread hand-off
    # per request, and 40 threads shared by every request of the worker (issue 11).
    assert _runs_on_the_loop(route.endpoint), f"{route.name} is not async"
    for call in _calls(route.dependant):
        assert _runs_on_the_loop(call), f"{route.name}: {call!r} runs in the thread pool"
