"""The batching log handler: every record one line, in order; a stuck pipe stalls no caller."""

from __future__ import annotations

import io
import logging
import threading

from ecommerce.core.log_writer import BatchingHandler
from ecommerce.core.logging import JsonFormatter, TextFormatter


class BlockingStream(io.StringIO):
    """A pipe that pushes back: write() waits until the test opens it."""

    def __init__(self) -> None:
        super().__init__()
        self.opened = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.opened.wait()
        return super().write(text)


def make_logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger


def test_every_record_is_one_line_in_order() -> None:
    stream = io.StringIO()
    handler = BatchingHandler(stream, TextFormatter(), interval=0.01, wake_at=7)
    logger = make_logger(handler, "test.batching.order")
    for number in range(1000):
        logger.info("line %d", number, extra={"n": number})
    handler.flush()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1000
    assert [line.split("line ", 1)[1] for line in lines] == [f"{n} n={n}" for n in range(1000)]
    handler.close()


def test_the_message_is_rendered_by_the_caller() -> None:
    stream = io.StringIO()
    handler = BatchingHandler(stream, JsonFormatter(), interval=0.01)
    logger = make_logger(handler, "test.batching.render")
    arguments = ["before"]
    logger.info("value %s", arguments)
    arguments[0] = "after"  # a mutable argument changed once the call returned
    handler.close()
    assert '"message":"value [\'before\']"' in stream.getvalue()


def test_a_stuck_pipe_does_not_stall_the_caller_and_nothing_is_lost() -> None:
    stream = BlockingStream()
    handler = BatchingHandler(stream, TextFormatter(), interval=0.01, wake_at=1)
    logger = make_logger(handler, "test.batching.stuck")
    logger.info("first")
    assert stream.entered.wait(5)  # the writer is inside write(), held there
    for number in range(500):  # the caller goes on meanwhile
        logger.info("queued %d", number)
    assert not stream.opened.is_set()
    stream.opened.set()
    handler.close()  # writes out what waited
    lines = stream.getvalue().splitlines()
    assert len(lines) == 501
    assert lines[-1].endswith("queued 499")


def test_tracebacks_are_kept() -> None:
    stream = io.StringIO()
    handler = BatchingHandler(stream, JsonFormatter(), interval=0.01)
    logger = make_logger(handler, "test.batching.error")
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    handler.close()
    assert "ValueError: boom" in stream.getvalue()
    assert '"exc_info"' in stream.getvalue()


def test_records_after_close_are_written_directly() -> None:
    stream = io.StringIO()
    handler = BatchingHandler(stream, TextFormatter(), interval=0.01)
    logger = make_logger(handler, "test.batching.closed")
    handler.close()
    logger.info("late")
    assert stream.getvalue().rstrip().endswith("late")
