"""The open-model engine of one load process: shared schedule, pacing, per-second records.

Every user of the process runs :meth:`Runtime.serve`: take the next unclaimed arrival of this
process's share of the schedule, sleep until it is due, send it, repeat. A free user claims the
next arrival at once, so arrivals start on time as long as one user is free; when every user
is busy an arrival waits, its lateness is measured, and past ``max_lateness_s`` it is dropped
and counted instead of being sent in a burst later. Requests never wait for a previous
response of the same arrival stream: the schedule, not the app, sets the start times.

Imported only inside a Locust process (it uses gevent).
"""

from __future__ import annotations

import json
import math
import socket
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
from gevent.event import Event

from hpalab.load.arrivals import EndpointCycle, arrival_times, worker_share
from hpalab.load.job import LoadJob
from hpalab.load.recording import Recorder

_LAG_PROBE_S = 0.05
_BOUNDARY_DELAY_S = 0.002
"""Flush a second this long after it ends, so requests ending at the boundary are in."""


class Clock:
    """Seconds since the profile start (``t0``, a wall-clock epoch shared by all processes)."""

    def __init__(self) -> None:
        self.started = Event()
        self.mono_t0 = 0.0
        self.t0_epoch = 0.0

    def start(self, t0_epoch: float) -> None:
        if self.started.is_set():
            return
        self.t0_epoch = t0_epoch
        self.mono_t0 = time.monotonic() + (t0_epoch - time.time())
        self.started.set()

    def now(self) -> float:
        """Seconds since t0 (negative before it); 0 before the start is known."""
        return time.monotonic() - self.mono_t0 if self.started.is_set() else 0.0


class Runtime:
    """One load process: its share of the schedule, its users' loop, its report stream."""

    def __init__(self, job: LoadJob, *, worker: int) -> None:
        self.job = job
        self.worker = worker
        self.clock = Clock()
        self.recorder = Recorder(worker)
        self.duration_s = job.curve().duration_s
        self.cycle = EndpointCycle.from_weights([e.weight for e in job.endpoints])
        self._arrivals: Iterator[tuple[int, float]] = worker_share(
            arrival_times(job.curve(), process=job.profile.arrivals.process, seed=job.arrival_seed),
            worker_index=worker,
            worker_count=job.worker_count,
        )
        self.finished = Event()
        self._sink: Callable[[bytes], object] | None = None

    def claim(self) -> tuple[int, float] | None:
        """The next arrival nobody has taken: ``(index, due s)``; ``None`` at the end."""
        return next(self._arrivals, None)

    def serve(self, client: Any) -> None:
        """A user's loop: send this process's arrivals on time until the schedule ends."""
        self.clock.started.wait()
        endpoints, cycle, recorder = self.job.endpoints, self.cycle, self.recorder
        max_late, claim = self.job.max_lateness_s, self.claim
        # The hot path: one clock read before and after each request, nothing else.
        monotonic, base = time.monotonic, self.clock.mono_t0
        while (item := claim()) is not None:
            k, due = item
            now = monotonic() - base
            if due > now:
                gevent.sleep(due - now)
                now = monotonic() - base
            if now - due > max_late:
                recorder.dropped(due)
                continue
            endpoint = endpoints[cycle.endpoint(k)]
            recorder.sent(now, now - due if now > due else 0.0)
            response = client.request(endpoint.method, endpoint.path, name=endpoint.path)
            ended = monotonic() - base
            status = response.status_code or 0
            recorder.ended(ended, (ended - now) * 1000.0, status)
        self.finished.wait()

    def serve_tasks(self, user: Any, table: Any, run: Any) -> None:
        """A pooled user's loop (open model with a locustfile): each arrival of this
        process's share runs task ``k`` of ``table`` on ``user`` on time, through
        ``run(user, task, name, late_s=...)``."""
        self.clock.started.wait()
        cycle = table.cycle()
        while (item := self.claim()) is not None:
            k, due = item
            now = self._start_or_drop(due)
            if now is not None:
                index = cycle.endpoint(k)
                run(user, table.functions[index], table.names[index], late_s=now - due)
        self.finished.wait()

    def _start_or_drop(self, due: float) -> float | None:
        """Sleep until ``due``; the start time, or ``None`` when the arrival was dropped."""
        now = self.clock.now()
        if due > now:
            gevent.sleep(due - now)
            now = self.clock.now()
        if now - due > self.job.max_lateness_s:
            self.recorder.dropped(due)
            return None
        return now

    def watch_loop(self) -> None:
        """Measure how late a short timer fires: the event loop's lag, every 50 ms."""
        self.clock.started.wait()
        while not self.finished.is_set():
            before = time.monotonic()
            gevent.sleep(_LAG_PROBE_S)
            lag = time.monotonic() - before - _LAG_PROBE_S
            self.recorder.lag(self.clock.now(), max(0.0, lag))

    def connect(self) -> None:
        """Open the report stream to the driver (standard output without one); say hello."""
        if self.job.report_port:
            sink = socket.create_connection(("127.0.0.1", self.job.report_port), timeout=10)
            self._sink = sink.sendall
        else:
            self._sink = _write_stdout
        self._send({"type": "hello", "worker": self.worker})

    def report_loop(self, on_second: Any = None) -> None:
        """Send each second's record as it closes; ``on_second(records)`` sees them too."""
        self.clock.started.wait()
        self._send({"type": "start", "worker": self.worker, "t0": self.clock.t0_epoch})
        last = math.ceil(self.duration_s)
        for second in range(1, last + 1):
            gevent.sleep(max(0.0, second + _BOUNDARY_DELAY_S - self.clock.now()))
            self.flush(second, on_second)
        self.bye()

    def flush(self, upto_s: int, on_second: Any = None) -> None:
        records = self.recorder.close(upto_s)
        if self._sink is not None and records:
            self._sink(b"".join(r.to_line() for r in records))
        if on_second is not None and records:
            on_second(records)

    def bye(self) -> None:
        if not self.finished.is_set():
            self.finished.set()
            self._send({"type": "bye", "worker": self.worker})

    def _send(self, message: dict[str, Any]) -> None:
        if self._sink is not None:
            self._sink((json.dumps(message) + "\n").encode())


def _write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
