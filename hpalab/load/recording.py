"""Counting one load process's requests into per-second records.

Requests are counted when they start (``sent``) and when they end (responses, failures,
latency). A request that ends after its second was handed out is counted in the next open
second, so nothing is lost and nothing is counted twice. Pure code: times are passed in,
in seconds since the profile start.
"""

from __future__ import annotations

import math

from hpalab.load.samples import TaskCounts, WorkerSecond


class Recorder:
    """Counts of the current seconds; closed seconds are handed out once, in order."""

    def __init__(self, worker: int) -> None:
        self.worker = worker
        self.next_open = 0
        self.seconds: dict[int, WorkerSecond] = {}
        self.in_flight = 0
        self.users = 0

    def _second(self, t_s: float) -> WorkerSecond:
        index = max(self.next_open, math.floor(t_s))
        record = self.seconds.get(index)
        if record is None:
            record = self.seconds[index] = WorkerSecond(worker=self.worker, t_s=index)
        return record

    def sent(self, t_s: float, late_s: float) -> None:
        record = self._second(t_s)
        record.sent += 1
        record.late_max_ms = max(record.late_max_ms, late_s * 1000.0)
        self.in_flight += 1
        record.in_flight_max = max(record.in_flight_max, self.in_flight)

    def ended(self, t_s: float, latency_ms: float, status: int) -> None:
        self.in_flight -= 1
        record = self._second(t_s)
        if status == 0:
            record.failures += 1
            record.conn_errors += 1
            return
        record.responses += 1
        record.histogram.add(latency_ms)
        if status >= 400:
            record.failures += 1

    def cancelled(self) -> None:
        """A request that will never end (its user was stopped): no longer in flight."""
        self.in_flight = max(0, self.in_flight - 1)

    def task(self, name: str, t_s: float, latency_ms: float, *, failed: bool) -> None:
        """A locustfile task ended at ``t_s`` (also counted by :meth:`ended`)."""
        counts = self._second(t_s).tasks.setdefault(name, TaskCounts())
        counts.count += 1
        counts.failures += failed
        counts.histogram.add(latency_ms)

    def lag(self, t_s: float, lag_s: float) -> None:
        record = self._second(t_s)
        record.loop_lag_ms = max(record.loop_lag_ms, lag_s * 1000.0)

    def dropped(self, t_s: float) -> None:
        self._second(t_s).dropped += 1

    def close(self, upto_s: int) -> list[WorkerSecond]:
        """The records of every second before ``upto_s`` not handed out yet."""
        out = []
        for index in range(self.next_open, upto_s):
            record = self.seconds.pop(index, None) or WorkerSecond(worker=self.worker, t_s=index)
            record.users = self.users
            record.in_flight_max = max(record.in_flight_max, self.in_flight)
            out.append(record)
        self.next_open = max(self.next_open, upto_s)
        return out
