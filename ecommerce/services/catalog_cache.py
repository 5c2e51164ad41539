"""The catalog cache: public product reads (by id, list and search pages) kept in memory.

Each worker holds its own. Entries are the answers' JSON bytes and live at most
``ttl`` seconds; a change to the catalog removes them sooner:

- in the worker that made it, before it answers (``invalidate`` after the commit), so a
  writer always reads its write;
- in every other worker and instance within about a second: a trigger on ``product``
  (migration 0011) sends a PostgreSQL ``NOTIFY`` on ``CHANNEL`` at commit, for any
  change by anyone (admin edits, checkouts taking stock, refunds returning it), and each
  worker's listener (``core.pg_listener``) calls ``on_notification``.

While that listener is not connected, notifications may be missed: the cache is then
suspended (emptied, every read goes to the database) until it listens again.

A read that started before an invalidation never stores its (possibly older) answer:
every invalidation bumps a generation, and a fill is kept only if the generation it
started under is still current. Checkout never reads this cache: stock is decided by the
conditional update in the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from time import monotonic
from typing import TypeVar

# The NOTIFY channel of the product trigger (migration 0011). The payload is the changed
# product ids, comma-separated, or "*" for "anything may have changed".
CHANNEL = "ecommerce_catalog"
EVERYTHING = "*"
MAX_ENTRIES = 20_000  # by-id entries and pages together; the oldest go first

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    expires: float


def _compact(value: bytes) -> bytes:
    """A copy of exactly ``len(value)`` bytes, for keeping.

    orjson hands out its working buffer (4 KiB at least) as the bytes object: 10,000
    cached products of ~300 bytes held 39 MiB, not 3 (tracemalloc, bench catalog).
    """
    return bytes(memoryview(value))


class CatalogCache:
    def __init__(self, ttl: float, *, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._products: dict[int, _Entry] = {}
        self._pages: dict[Hashable, _Entry] = {}
        self._generation = 0
        # Off until the listener is connected: before that nobody would tell us of changes.
        self._listening = False
        self.notifications = 0  # heard so far (for tests and curiosity)

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    @property
    def active(self) -> bool:
        """Whether reads are served from memory right now."""
        return self.enabled and self._listening

    async def product(self, product_id: int, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """The public answer for one product: from memory, or ``load()`` (then kept)."""
        return await self._get(self._products, product_id, load)

    async def page(self, key: Hashable, load: Callable[[], Awaitable[bytes]]) -> bytes:
        """A public list or search page, by ``key`` (its limit, cursor and query)."""
        return await self._get(self._pages, key, load)

    async def _get(
        self, entries: dict[K, _Entry], key: K, load: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        if not self.active:
            return await load()
        entry = entries.get(key)
        now = monotonic()
        if entry is not None and entry.expires > now:
            return entry.value
        generation = self._generation
        value = await load()  # NotFound and other errors propagate: nothing is kept
        if generation == self._generation and self.active:
            if key not in entries and len(self._products) + len(self._pages) >= self.max_entries:
                self._evict(entries is self._pages)
            entries[key] = _Entry(_compact(value), now + self.ttl)
        return value

    def _evict(self, page: bool) -> None:
        # Dicts keep insertion order: the first key is the oldest fill of its kind.
        if (page or not self._products) and self._pages:
            self._pages.pop(next(iter(self._pages)))
        elif self._products:
            self._products.pop(next(iter(self._products)))

    def invalidate(self, product_ids: Iterable[int] = ()) -> None:
        """Forget these products and every page (any page may show them, or now not)."""
        self._generation += 1
        for product_id in product_ids:
            self._products.pop(product_id, None)
        self._pages.clear()

    def clear(self) -> None:
        self._generation += 1
        self._products.clear()
        self._pages.clear()

    def on_notification(self, payload: str) -> None:
        """A NOTIFY on CHANNEL: the ids that changed, or EVERYTHING."""
        self.notifications += 1
        try:
            ids = [int(part) for part in payload.split(",")] if payload != EVERYTHING else None
        except ValueError:
            ids = None  # not ours to parse: assume the worst
        if ids is None:
            self.clear()
        else:
            self.invalidate(ids)

    def resume(self) -> None:
        """The listener is connected (again): changes will reach us from now on."""
        self.clear()  # what changed while nobody listened is unknown
        self._listening = True

    def suspend(self) -> None:
        """The listener lost its connection: serve nothing from memory until it is back."""
        self._listening = False
        self.clear()

    def __len__(self) -> int:
        return len(self._products) + len(self._pages)
