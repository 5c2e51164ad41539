"""The embedded PostgreSQL: started once, reused by the next start, stopped on demand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ecommerce.core.embedded_postgres import start_server, stop_server


def start_in_a_new_process(data_dir: Path) -> None:
    # As `make run` does on every start: a new process finds (or starts) the server.
    code = "import sys, pathlib; from ecommerce.core.embedded_postgres import start_server; "
    code += "start_server(pathlib.Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", code, str(data_dir)], check=True, timeout=120)


def test_start_reuse_and_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_server(data_dir)
    assert start_server(data_dir) == first  # a second start finds it running
    marker = data_dir / "pgdata" / "PG_VERSION"
    made = marker.stat().st_mtime
    assert stop_server(data_dir) is True
    assert stop_server(data_dir) is False
    start_in_a_new_process(data_dir)
    assert marker.stat().st_mtime == made  # the same cluster, not a new initdb
    assert stop_server(data_dir) is True
