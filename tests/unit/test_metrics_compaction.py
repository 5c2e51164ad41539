"""Dead workers' metric files are folded into archives: totals kept, file count flat."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, multiprocess
from prometheus_client.mmap_dict import MmapedDict, mmap_key

from ecommerce.core.metrics import compact_dead_worker
from tests.support.metrics import parse_samples, value


def write(directory: Path, name: str, samples: dict[tuple[str, str], float]) -> None:
    values = MmapedDict(str(directory / name))  # type: ignore[no-untyped-call]
    for (metric, sample), number in samples.items():
        key = mmap_key(metric, sample, ["route"], ["/x"], "help")
        values.write_value(key, number, 0.0)  # type: ignore[no-untyped-call]
    values.close()  # type: ignore[no-untyped-call]


def scrape(directory: Path) -> str:
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    return generate_latest(registry).decode()


def test_recycled_workers_keep_their_counts_in_a_constant_number_of_files(
    tmp_path: Path,
) -> None:
    live = 99999
    write(tmp_path, f"counter_{live}.db", {("requests", "requests_total"): 1})
    for pid in range(1, 201):  # two hundred recycled workers
        write(tmp_path, f"counter_{pid}.db", {("requests", "requests_total"): 2})
        write(tmp_path, f"histogram_{pid}.db", {("latency", "latency_count"): 3})
        write(tmp_path, f"gauge_livesum_{pid}.db", {("inflight", "inflight"): 1})
        write(tmp_path, f"gauge_max_{pid}.db", {("age", "age"): 7})
        compact_dead_worker(pid, tmp_path)
        assert len(list(tmp_path.iterdir())) == 3  # the live worker's and two archives
    samples = parse_samples(scrape(tmp_path))
    assert value(samples, "requests_total", route="/x") == 1 + 200 * 2
    assert value(samples, "latency_count", route="/x") == 200 * 3
    assert value(samples, "inflight", route="/x") is None  # dead workers' gauges are gone
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_99999.db",
        "counter_archive.db",
        "histogram_archive.db",
    ]
    assert json.loads(mmap_key("a", "b", [], [], "c"))  # the key format we rely on
