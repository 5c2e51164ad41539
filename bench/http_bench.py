"""``make bench``: the service against a raw-asyncpg baseline, under wrk, on this machine.

    .venv/bin/python bench/http_bench.py

It prints numbers and asserts nothing. It brings up the embedded PostgreSQL (database
``ecommerce_bench``, or ECOMMERCE_BENCH_DATABASE_URL), migrates and seeds it (10,000
products, 300 customers with tokens), starts the fake gateway, the service under
gunicorn with 2 uvicorn workers, and ``bench/baseline.py`` under the same gunicorn
settings, then drives each scenario with wrk from its own process on 127.0.0.1,
service and baseline in turn so both see the same (shared, noisy) machine. Per run:
requests/s, p50/p90/p99, non-2xx answers, the ratio service/baseline, the event-loop
lag p99 (the service's from /metrics; the baseline runs the same sampler), each
worker's peak RSS, and the CPU milliseconds per request by process group
(bench/cpu_use.py).

Environment (all optional):
    BENCH_DURATION=10       seconds per measured run
    BENCH_WARMUP=2          seconds of unmeasured load before each scenario, per app
    BENCH_CONNECTIONS=64    wrk connections;  BENCH_THREADS=2  wrk threads
    BENCH_ROUNDS=1          service/baseline alternations per scenario
    BENCH_PAUSE_MS=0        each wrk connection pauses this long between requests: an
                            offered rate below saturation (connections / pause), where
                            the loop-lag reading means blocking, not waiting for a CPU
    BENCH_SCENARIOS=by_id,list,search,checkout,mix   (any subset, in that order)
    BENCH_PROFILE=by_id     py-spy record one service worker during these scenarios;
                            the collapsed stacks and a summary go to .data/bench/
    BENCH_SERVICE_ENV="ECOMMERCE_X=1 ..."  extra settings for the service
    BENCH_CACHE_OFF=1       also run the read scenarios against a second service with
                            the catalog cache off (ECOMMERCE_CATALOG_CACHE_TTL=0, and no
                            job consumers of its own); 0 skips
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

import cpu_use
import harness
import profiling
from cpu_use import CpuUse
from harness import Data, RssPeaks, Server

MB = 1024 * 1024


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    baseline: bool  # the baseline serves it too; else the ratio is to the baseline's by id


SCENARIOS = {
    s.key: s
    for s in (
        Scenario("by_id", "GET /products/{id} (random ids)", True),
        Scenario("list", "GET /products?limit=20", True),
        Scenario("search", "GET /products?q=...&limit=20", True),
        Scenario("checkout", "POST /orders (1 line, tok_visa)", False),
        Scenario("mix", "mix 80% reads/15% orders/5% checkout", False),
    )
}


@dataclass
class Result:
    scenario: str
    target: str
    rps: float
    p50: float
    p90: float
    p99: float
    non2xx: int
    socket_errors: int
    lag_p99: float | None = None
    rss: dict[int, int] | None = None
    cpu_ms: dict[str, float] | None = None  # CPU milliseconds per request, by group


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def wrk(wrk_path: str, server: Server, mode: str, seconds: int, data: Data) -> dict[str, float]:
    connections = env_int("BENCH_CONNECTIONS", 64)
    threads = env_int("BENCH_THREADS", 2)
    args = [
        wrk_path, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
        "-s", str(harness.ROOT / "bench" / "wrk.lua"), server.base_url,
        "--", mode, str(data.ids_file), str(data.tokens_file),
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return harness.parse_wrk(done.stdout)


def measure(
    wrk_path: str,
    server: Server,
    scenario: str,
    data: Data,
    *,
    service: bool,
    groups: dict[str, int],
) -> Result:
    """One wrk run against ``server``; ``groups``: every process tree whose CPU is counted."""
    seconds = env_int("BENCH_DURATION", 10)
    lag_before = harness.loop_lag_buckets(server) if service else {}
    rss = RssPeaks(server)
    cpu = CpuUse(groups)
    profile = None
    if service and scenario in os.environ.get("BENCH_PROFILE", "").split(","):
        profile = profiling.start(server.workers()[0].pid, scenario, seconds)
    started = time.monotonic()
    with rss.sampling(), cpu.measuring():
        raw = wrk(wrk_path, server, scenario, seconds, data)
    if profile is not None:
        profiling.finish(profile)
    time.sleep(LAG_SETTLE)  # the samplers' last tick of the run is recorded
    # Both windows run from before the load to after the settle: the same few idle
    # samples at either end for the service (scrape to scrape) and the baseline.
    if service:
        lag = harness.quantile(lag_before, harness.loop_lag_buckets(server), 0.99)
    else:
        window = harness.baseline_lag_buckets(started, time.monotonic())
        lag = harness.quantile({}, window, 0.99)
    return Result(
        scenario=scenario,
        target=server.name,
        cpu_ms=cpu.per_request(raw["requests"]),
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50=raw["p50_us"] / 1000,
        p90=raw["p90_us"] / 1000,
        p99=raw["p99_us"] / 1000,
        non2xx=int(raw["non2xx"]),
        socket_errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
        lag_p99=lag,
        rss=rss.peaks,
    )


LAG_SETTLE = 0.3


def print_row(result: Result, reference: float | None) -> None:
    ratio = f"{result.rps / reference:5.2f}x" if reference else "     "
    lag = f"{result.lag_p99 * 1000:6.1f}" if result.lag_p99 is not None else "     -"
    rss = "/".join(f"{v / MB:.0f}" for v in (result.rss or {}).values()) or "-"
    print(
        f"  {result.target:<12} {result.rps:9.1f} {result.p50:8.1f} {result.p90:8.1f} "
        f"{result.p99:8.1f} {result.non2xx:7d} {result.socket_errors:6d}  {ratio}  {lag}  {rss}",
        flush=True,
    )
    if result.cpu_ms:
        print(f"  {'':<12} cpu ms/req: {cpu_use.describe(result.cpu_ms, result.target)}")


def header() -> None:
    print(
        f"  {'app':<12} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'non-2xx':>7} {'sock':>6}  {'ratio':>6} {'lag99ms':>7}  peak RSS MB/worker",
        flush=True,
    )


def run_scenarios(
    wrk_path: str, services: list[Server], baseline: Server, data: Data, gateway: Server
) -> list[Result]:
    wanted = os.environ.get("BENCH_SCENARIOS", ",".join(SCENARIOS)).split(",")
    rounds = env_int("BENCH_ROUNDS", 1)
    warmup = env_int("BENCH_WARMUP", 2)
    results: list[Result] = []
    baseline_by_id: float | None = None
    groups = {server.name: server.process.pid for server in [*services, baseline, gateway]}

    def run(server: Server, key: str, service: bool) -> Result:
        return measure(wrk_path, server, key, data, service=service, groups=groups)

    for key in (k for k in SCENARIOS if k in wanted):
        scenario = SCENARIOS[key]
        print(f"\n{scenario.title}", flush=True)
        header()
        measured = services if scenario.baseline else services[:1]  # writes: cache on only
        targets = [*measured, baseline] if scenario.baseline else list(measured)
        if warmup:
            for server in targets:
                wrk(wrk_path, server, key, warmup, data)
        for _ in range(rounds):
            base: Result | None = None
            if scenario.baseline:  # measured first within the round, so a ratio is ready
                base = run(baseline, key, False)
                if key == "by_id":
                    baseline_by_id = base.rps
            for service in measured:
                result = run(service, key, True)
                results.append(result)
                print_row(result, base.rps if base else baseline_by_id)
            if base is not None:
                results.append(base)
                print_row(base, None)
    return results


def main() -> int:
    wrk_path = harness.ensure_wrk()
    url = harness.database_url()
    print("preparing the database ...", flush=True)
    data = harness.prepare_data(url)
    print(f"{len(data.product_ids):,} products, {len(data.tokens):,} customers", flush=True)
    extra = dict(pair.split("=", 1) for pair in os.environ.get("BENCH_SERVICE_ENV", "").split())
    started: list[Server] = []
    try:
        gateway = harness.start_gateway()
        started.append(gateway)
        services = [harness.start_service(url, gateway, "service", extra)]
        started.extend(services)
        if os.environ.get("BENCH_CACHE_OFF", "1") != "0":
            off = harness.start_service(url, gateway, "svc-nocache", {**extra, **CACHE_OFF})
            services.append(off)
            started.append(off)
        baseline = harness.start_baseline(url)
        started.append(baseline)
        print(
            f"service {services[0].base_url} ({harness.WORKERS} workers), baseline "
            f"{baseline.base_url}, wrk {env_int('BENCH_CONNECTIONS', 64)} connections, "
            f"{env_int('BENCH_DURATION', 10)} s per run; CPUs: {os.cpu_count()}",
            flush=True,
        )
        run_scenarios(wrk_path, services, baseline, data, gateway)
    finally:
        for server in reversed(started):
            server.stop()
    print("\nratio: service req/s over the baseline's for the same route (checkout and mix:")
    print("over the baseline's by id); lag99: event_loop_lag_seconds p99 during the run (the")
    print("baseline runs the same sampler); cpu ms/req: CPU time per request of each app's")
    print("processes (workers and their job consumers), PostgreSQL, the fake gateway, and the")
    print("whole machine (wrk included): at saturation 1000 x CPUs / machine is the ceiling.")
    return 0


# The second service is there for the reads without the cache. It runs no job consumers:
# the service under test is a deployment of 2 workers with theirs; two more consumers on
# the same queue would take part of its checkouts' e-mails (and poll for the rest).
CACHE_OFF = {"ECOMMERCE_CATALOG_CACHE_TTL": "0", "ECOMMERCE_WORKER_IN_PROCESS": "false"}

if __name__ == "__main__":
    sys.exit(main())
