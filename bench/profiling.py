"""py-spy on one service worker during a bench run, and a summary of where time went.

``py-spy record --format raw`` writes collapsed stacks ("frame;frame;frame count") of the
moments a thread was running (idle waits are left out), so shares are of the worker's
busy time. The summary splits the event-loop thread from the others (the thread pool,
the log writer), then prints the functions with the most samples at the top of the
stack (self) and anywhere on it (inclusive). uvloop and httptools are C: their time
shows as self time of the frame that entered them (``Runner.run`` for the loop). On a
machine short of CPU a thread woken from a wait is counted while it waits for a core:
samples whose top frame is a blocking wait (``Condition.wait``) are left out as idle.

    .venv/bin/python bench/profiling.py .data/bench/profile-by_id.txt   # summarise again
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

WORK = Path(__file__).resolve().parent.parent / ".data" / "bench"
TOP = 25
IDLE_FRAMES = frozenset({"Condition.wait (threading.py)", "Event.wait (threading.py)"})


@dataclass
class Profile:
    process: subprocess.Popen[bytes]
    output: Path


def start(pid: int, name: str, seconds: int) -> Profile | None:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("  (py-spy is not installed: pip install -e '.[dev]')", flush=True)
        return None
    WORK.mkdir(parents=True, exist_ok=True)
    output = WORK / f"profile-{name}.txt"
    args = [py_spy, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", "250"]
    args += ["--format", "raw", "--nonblocking", "--output", str(output)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Profile(process, output)


def finish(profile: Profile | None) -> None:
    if profile is None:
        return
    profile.process.wait(timeout=60)
    if profile.output.exists():
        print(f"  py-spy stacks: {profile.output}")
        summarize(profile.output)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    module = where.rsplit("/", 1)[-1].split(":", 1)[0]
    return f"{name} ({module})" if module else name


def summarize(path: Path, top: int = TOP) -> None:
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = in_threads = 0
    thread_leaves: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_name(f) for f in stack.split(";") if f]
        if frames and frames[-1] in IDLE_FRAMES:
            continue
        total += count
        if "Thread._bootstrap (threading.py)" in frames:  # not the event loop's thread
            in_threads += count
            thread_leaves[" <- ".join(reversed(frames[-3:]))] += count
        for name in set(frames):
            inclusive[name] += count
        if frames:
            self_time[frames[-1]] += count
    if not total:
        print("  (no samples)")
        return
    print(
        f"  {total} busy samples; event-loop thread {100 * (total - in_threads) / total:.1f}%, "
        f"other threads {100 * in_threads / total:.1f}%"
    )
    for name, count in thread_leaves.most_common(5):
        print(f"    thread {100 * count / total:5.1f}%  {name}")
    print("  top by self time:")
    for name, count in self_time.most_common(top):
        print(f"    {100 * count / total:5.1f}%  {name}")
    print("  top by inclusive time:")
    for name, count in inclusive.most_common(top):
        print(f"    {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        summarize(Path(argument), top=40)
