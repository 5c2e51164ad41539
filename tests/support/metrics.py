"""Read a Prometheus exposition and the per-worker files of multiprocess mode."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

SampleKey = tuple[str, frozenset[tuple[str, str]]]
Samples = Mapping[SampleKey, float]


def parse_samples(exposition: str) -> dict[SampleKey, float]:
    """Every sample of a text exposition, keyed by its name and labels."""
    samples: dict[SampleKey, float] = {}
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample with exactly these labels, or None when it is not exported."""
    return samples.get((name, frozenset(labels.items())))


def labels_of(samples: Samples, name: str, label: str) -> set[str]:
    """Every value ``label`` takes on samples called ``name``."""
    return {
        dict(key)[label] for key_name, key in samples if key_name == name and label in dict(key)
    }


def value_by_pid(directory: Path, name: str, **labels: str) -> dict[int, float]:
    """Per worker process: the value of one counter sample in its own multiprocess file."""
    found: dict[int, float] = {}
    for path in directory.glob("counter_*.db"):
        suffix = path.stem.rsplit("_", 1)[1]
        if not suffix.isdigit():  # counter_archive.db: what dead workers counted
            continue
        pid = int(suffix)
        merged = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        for family in merged:
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    found[pid] = sample.value
    return found


def live_worker_pids(directory: Path) -> set[int]:
    """Processes with live gauges: every worker writes them from its start to its exit."""
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("gauge_livesum_*.db")}
