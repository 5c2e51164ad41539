"""The catalog cache on its own: fills, invalidation, races with a fill, suspension."""

from __future__ import annotations

import asyncio

import pytest

from ecommerce.services import catalog_cache
from ecommerce.services.catalog_cache import CatalogCache


class Loader:
    def __init__(self, value: bytes = b"v1") -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> bytes:
        self.calls += 1
        return self.value


def listening_cache(ttl: float = 60.0, **options: int) -> CatalogCache:
    cache = CatalogCache(ttl, **options)
    cache.resume()
    return cache


async def test_a_fill_is_served_until_invalidated() -> None:
    cache = listening_cache()
    load = Loader()
    assert await cache.product(1, load) == b"v1"
    load.value = b"v2"
    assert await cache.product(1, load) == b"v1"
    assert load.calls == 1
    cache.invalidate([1])
    assert await cache.product(1, load) == b"v2"
    assert load.calls == 2


async def test_any_change_drops_every_page_but_only_the_named_products() -> None:
    cache = listening_cache()
    page, one, two = Loader(b"page"), Loader(b"one"), Loader(b"two")
    await cache.page(("list", 20, None, None), page)
    await cache.product(1, one)
    await cache.product(2, two)
    cache.on_notification("2")
    await cache.page(("list", 20, None, None), page)
    await cache.product(1, one)
    await cache.product(2, two)
    assert (page.calls, one.calls, two.calls) == (2, 1, 2)
    cache.on_notification("*")
    await cache.product(1, one)
    assert one.calls == 2


async def test_a_read_that_began_before_an_invalidation_is_not_kept() -> None:
    cache = listening_cache()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_old_read() -> bytes:
        started.set()
        await release.wait()
        return b"old"

    reader = asyncio.create_task(cache.product(1, slow_old_read))
    await started.wait()
    cache.invalidate([1])  # the write committed while the read was in flight
    release.set()
    assert await reader == b"old"  # that request answers what it read...
    fresh = Loader(b"new")
    assert await cache.product(1, fresh) == b"new"  # ...but nobody else gets it
    assert fresh.calls == 1


async def test_entries_expire_after_the_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(catalog_cache, "monotonic", lambda: now[0])
    cache = listening_cache(ttl=2.0)
    load = Loader()
    await cache.product(1, load)
    now[0] += 1.9
    await cache.product(1, load)
    assert load.calls == 1
    now[0] += 0.2
    await cache.product(1, load)
    assert load.calls == 2


async def test_nothing_is_served_from_memory_unless_listening_or_when_off() -> None:
    cache = CatalogCache(60.0)  # the listener has not connected yet
    load = Loader()
    await cache.product(1, load)
    await cache.product(1, load)
    assert load.calls == 2 and len(cache) == 0
    cache.resume()
    await cache.product(1, load)
    await cache.product(1, load)
    assert load.calls == 3
    cache.suspend()  # the connection was lost: changes may go unheard
    assert len(cache) == 0
    await cache.product(1, load)
    assert load.calls == 4
    off = listening_cache(ttl=0)
    await off.product(1, load)
    await off.product(1, load)
    assert load.calls == 6 and not off.active


async def test_errors_are_not_kept() -> None:
    cache = listening_cache()

    async def missing() -> bytes:
        raise LookupError("no such product")

    for _ in range(2):
        with pytest.raises(LookupError):
            await cache.product(1, missing)
    assert len(cache) == 0


async def test_the_cache_stays_within_its_size() -> None:
    cache = listening_cache(max_entries=3)
    for product_id in range(10):
        await cache.product(product_id, Loader())
    await cache.page("p", Loader())
    assert len(cache) == 3
    load = Loader()
    await cache.product(9, load)  # the newest fills stayed
    assert load.calls == 0


async def test_a_payload_it_cannot_read_empties_the_cache() -> None:
    cache = listening_cache()
    await cache.product(1, Loader())
    await cache.page("p", Loader())
    cache.on_notification("1,not-an-id")
    assert len(cache) == 0


async def test_kept_answers_hold_only_their_bytes() -> None:
    # orjson's output owns its whole working buffer (4 KiB at least, which getsizeof
    # does not show); kept as it is, 200 cached products of 300 bytes held 800 KiB.
    # Memory, not timing: what tracemalloc counts for the kept entries.
    import tracemalloc

    import orjson

    cache = listening_cache()

    async def load() -> bytes:
        return orjson.dumps({"name": "x" * 280})

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for product_id in range(200):
            await cache.product(product_id, load)
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(cache) == 200
    assert kept < 200 * 1024, kept
