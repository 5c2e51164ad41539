"""A log handler whose caller only appends: one writer thread formats and writes in batches.

Why a thread: a log pipe that pushes back (a slow journald, Docker's blocking log
driver, a paused terminal) must not stall the event loop. Why batches: at thousands of
requests a second, waking a thread for every line (a queue's condition variable: a
futex wake-up, a GIL hand-over) costs more than the line itself. So the caller renders
only what needs its context (the message, a traceback) and appends to a deque, which
takes no lock and wakes nobody; the writer wakes every ``interval`` (or early, when
``wake_at`` lines wait), formats what is there and writes it in one call. Every record
still becomes exactly one line, in order.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Protocol, TextIO

FLUSH_INTERVAL = 0.05  # seconds a line may wait for the writer
WAKE_AT = 256  # lines waiting that wake the writer before its interval is up
MAX_BATCH = 4096  # lines per write: bounds the size of one joined string
CLOSE_TIMEOUT = 5.0  # seconds close() waits for the writer (a stuck pipe must not hang exit)

_TRACEBACKS = logging.Formatter()


class LineFormatter(Protocol):
    def format_line(self, record: logging.LogRecord, message: str, exc_text: str | None) -> str:
        """One log line (no newline) from a record and its message rendered by the caller."""
        ...


Pending = tuple[logging.LogRecord, str, str | None]


class BatchingHandler(logging.Handler):
    def __init__(
        self,
        stream: TextIO,
        formatter: LineFormatter,
        *,
        interval: float = FLUSH_INTERVAL,
        wake_at: int = WAKE_AT,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.line_formatter = formatter
        self.interval = interval
        self.wake_at = wake_at
        self._pending: deque[Pending] = deque()
        self._wake = threading.Event()
        self._drained = threading.Condition()
        self._closed = False
        self._busy = False  # the writer holds lines it popped but has not written yet
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def handle(self, record: logging.LogRecord) -> bool:
        # Handler.handle takes the handler's lock around emit(); a deque append needs none.
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()  # now: the arguments may change later
            exc_text = record.exc_text
            if record.exc_info and not exc_text:
                exc_text = _TRACEBACKS.formatException(record.exc_info)
            if self._closed:  # after shutdown nobody writes for us: write it now
                self._write([(record, message, exc_text)])
                return
            self._pending.append((record, message, exc_text))
            if len(self._pending) >= self.wake_at:
                self._wake.set()
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Wait until what was logged so far is written (bounded: never hangs on a stuck pipe)."""
        if self._closed or not self._thread.is_alive():
            return
        with self._drained:
            self._wake.set()
            self._drained.wait_for(lambda: not (self._pending or self._busy), timeout=CLOSE_TIMEOUT)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake.set()
            self._thread.join(CLOSE_TIMEOUT)
        super().close()

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            self._write_pending()
            if self._closed:
                self._write_pending()  # what raced with close()
                return

    def _write_pending(self) -> None:
        pending = self._pending
        self._busy = True
        while pending:
            batch: list[Pending] = []
            while pending and len(batch) < MAX_BATCH:
                batch.append(pending.popleft())
            self._write(batch)
        with self._drained:
            self._busy = False
            self._drained.notify_all()

    def _write(self, batch: list[Pending]) -> None:
        lines: list[str] = []
        for record, message, exc_text in batch:
            try:
                lines.append(self.line_formatter.format_line(record, message, exc_text))
            except Exception:
                self.handleError(record)
        if not lines:
            return
        try:
            self.stream.write("\n".join(lines) + "\n")
            self.stream.flush()
        except Exception:
            self.handleError(batch[-1][0])
