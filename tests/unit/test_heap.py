"""Start-up's objects are set aside from the garbage collector's passes (core/heap.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from ecommerce import gunicorn_config
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
