"""Receiving the load processes' per-second records on 127.0.0.1 (main-process side).

Each load process connects once and sends JSON lines: ``hello``, ``start`` (with ``t0``),
one ``second`` per second of the profile, then ``bye``. :class:`Collector` reads whatever has
arrived without blocking longer than asked and keeps, per second, the record of each process.
"""

from __future__ import annotations

import json
import selectors
import socket
from dataclasses import dataclass, field

from hpalab.load.samples import WorkerSecond


@dataclass
class _Peer:
    sock: socket.socket
    buffer: bytearray = field(default_factory=bytearray)


class Collector:
    """A listening socket and the records received so far."""

    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.setblocking(False)
        self.port: int = self.listener.getsockname()[1]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.hello: set[int] = set()
        self.byes: set[int] = set()
        self.t0_epoch: float | None = None
        self.records: dict[int, dict[int, WorkerSecond]] = {}
        self.bad_lines = 0

    def poll(self, timeout_s: float) -> None:
        """Accept connections and read every complete line, waiting up to ``timeout_s``."""
        for key, _ in self.selector.select(timeout=timeout_s):
            if key.data is None:
                conn, _ = self.listener.accept()
                conn.setblocking(False)
                self.selector.register(conn, selectors.EVENT_READ, _Peer(conn))
            else:
                self._read(key.data)

    def _read(self, peer: _Peer) -> None:
        try:
            chunk = peer.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(peer.sock)
            peer.sock.close()
            return
        peer.buffer.extend(chunk)
        *lines, rest = peer.buffer.split(b"\n")
        peer.buffer = bytearray(rest)
        for line in lines:
            self._handle(bytes(line))

    def _handle(self, line: bytes) -> None:
        try:
            message = json.loads(line)
            kind = message["type"]
            worker = int(message["worker"])
            if kind == "second":
                record = WorkerSecond.from_message(message)
                self.records.setdefault(record.t_s, {})[worker] = record
            elif kind == "hello":
                self.hello.add(worker)
            elif kind == "start":
                self.t0_epoch = float(message["t0"])
            elif kind == "bye":
                self.byes.add(worker)
        except (ValueError, KeyError, TypeError):
            self.bad_lines += 1

    def complete(self, t_s: int, workers: int) -> list[WorkerSecond] | None:
        """Every process's record of second ``t_s``, or ``None`` while one is missing."""
        parts = self.records.get(t_s, {})
        if len(parts) < workers:
            return None
        return [parts[w] for w in sorted(parts)]

    def close(self) -> None:
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self.selector.close()
