"""The garbage collector and a long-running worker: start-up's objects set aside.

A full (oldest-generation) collection walks every container object the process holds.
A worker holds hundreds of thousands from start-up (modules, classes, the ORM's
mappings, pydantic and FastAPI schemas), none of which ever becomes garbage; under load
each full pass took 130 to 220 ms (gc.callbacks, 2 workers of `make bench`), the loop
stalled for that long, and they made the p99 of every route and the loop-lag tail.
``gc.freeze()`` moves what is alive into a permanent generation no collection visits
(Python's advice for servers; Instagram's for pre-fork workers): later collections
walk only what the worker made since.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once (garbage of start-up is not kept forever), then freeze the rest."""
    gc.collect()
    gc.freeze()
