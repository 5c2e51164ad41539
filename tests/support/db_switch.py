"""A switchable TCP path to the test PostgreSQL: take the database away and back.

``DatabaseSwitch`` listens on a TCP port of 127.0.0.1 and forwards every connection to
the embedded server's Unix socket. ``cut()`` closes the listener and every forwarded
connection (clients see refused connections and dropped sessions, as when PostgreSQL
stops); ``restore()`` listens again on the same port. Plain threads: it serves test
processes and real gunicorn workers alike.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

from tests.support.processes import free_port


def _unix_socket_of(database_url: str) -> tuple[str, str]:
    """(socket path, database name) of an embedded-server URL (``?host=dir&port=n``)."""
    parts = urlsplit(database_url)
    query = parse_qs(parts.query)
    return f"{query['host'][0]}/.s.PGSQL.{query['port'][0]}", parts.path.lstrip("/")


class DatabaseSwitch:
    def __init__(self, database_url: str) -> None:
        self._target, self._database = _unix_socket_of(database_url)
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self._database}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, set()
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.socket(socket.AF_UNIX)
                upstream.connect(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # cut meanwhile
                    client.close()
                    upstream.close()
                    return
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._lock:
                self._open -= {source, sink}


@contextmanager
def database_switch(database_url: str, *, up: bool = True) -> Iterator[DatabaseSwitch]:
    switch = DatabaseSwitch(database_url)
    if up:
        switch.restore()
    try:
        yield switch
    finally:
        switch.cut()
