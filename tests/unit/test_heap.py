"""Start-up's objects are set aside from the garbage collector's passes (core/heap.py)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest
from uvicorn import Config, Server

from ecommerce import gunicorn_config
from ecommerce.api.recycle import _stop_accepting
from ecommerce.core.heap import freeze_startup_objects


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the test process keeps collecting everything


@pytest.mark.usefixtures("unfrozen")
def test_garbage_is_collected_and_the_living_frozen() -> None:
    alive = Node()
    cycle = Node()
    cycle.other = Node()
    cycle.other.other = cycle  # garbage only a collection frees
    dead = weakref.ref(cycle)
    del cycle

    freeze_startup_objects()

    assert dead() is None, "the garbage of start-up is collected, not frozen for good"
    assert gc.get_freeze_count() > 0
    # Frozen: out of every generation a collection walks.
    assert all(tracked is not alive for tracked in gc.get_objects())


@pytest.mark.usefixtures("unfrozen")
def test_every_gunicorn_worker_freezes_once_it_has_loaded_the_app() -> None:
    gunicorn_config.post_worker_init(None)
    assert gc.get_freeze_count() > 0


@pytest.mark.usefixtures("unfrozen")
async def test_a_recycling_worker_finds_its_server_even_if_it_was_frozen() -> None:
    # The server made before the freeze (a worker class that builds it early, or a
    # freeze moved later): recycling must still close its listener (api/recycle.py).
    server = Server(Config(app=_app))
    listener = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    server.servers = [listener]
    freeze_startup_objects()
    try:
        _stop_accepting()
        assert not listener.is_serving()
    finally:
        listener.close()
        await listener.wait_closed()


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("never called")
