"""Per-second measurements: what each load process reports, and the merged second.

A load process (the single Locust process, or each distributed worker) sends one
:class:`WorkerSecond` per second of the profile as a JSON line. The driver merges the records
of all processes for the same second into one :class:`LoadSample`, the unit the rest of hpalab
consumes. Every count is of one second ``[t_s, t_s + 1)`` measured from the profile start;
requests are counted when they start (``sent``) or when they end (everything else).
Pure code: no clocks, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.load.histogram import Histogram, merged


@dataclass
class TaskCounts:
    """One locustfile task in one second: how often it ended, failed, and how long it took."""

    count: int = 0
    failures: int = 0
    histogram: Histogram = field(default_factory=Histogram)

    def to_wire(self) -> dict[str, Any]:
        return {"n": self.count, "f": self.failures, "h": self.histogram.to_wire()}

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> TaskCounts:
        return cls(int(data["n"]), int(data["f"]), Histogram.from_wire(data["h"]))


@dataclass
class WorkerSecond:
    """One second of one load process."""

    worker: int
    t_s: int
    sent: int = 0
    """Requests started."""
    responses: int = 0
    """Requests that ended with an HTTP response, whatever its status."""
    failures: int = 0
    """Requests that failed: HTTP status ≥ 400, connection errors and timeouts."""
    conn_errors: int = 0
    """Failed requests that got no HTTP response (refused, reset, timed out)."""
    dropped: int = 0
    """Arrivals never sent: no user was free within the lateness bound."""
    late_max_ms: float = 0.0
    """Largest delay between an arrival's due time and its start."""
    loop_lag_ms: float = 0.0
    """Largest overshoot of a short timer: how long the process was too busy to run one."""
    users: int = 0
    in_flight_max: int = 0
    histogram: Histogram = field(default_factory=Histogram)
    """Latency of the requests that got a response."""
    tasks: dict[str, TaskCounts] = field(default_factory=dict)
    """Per locustfile task (empty without a locustfile)."""

    def to_line(self) -> bytes:
        data = {k: v for k, v in self.__dict__.items() if k not in ("histogram", "tasks")}
        data["type"] = "second"
        data["histogram"] = self.histogram.to_wire()
        if self.tasks:
            data["tasks"] = {name: counts.to_wire() for name, counts in self.tasks.items()}
        return (json.dumps(data, separators=(",", ":")) + "\n").encode()

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> WorkerSecond:
        """Parse a ``second`` message; raises ``KeyError``/``ValueError`` when malformed."""
        return cls(
            worker=int(data["worker"]),
            t_s=int(data["t_s"]),
            sent=int(data["sent"]),
            responses=int(data["responses"]),
            failures=int(data["failures"]),
            conn_errors=int(data["conn_errors"]),
            dropped=int(data["dropped"]),
            late_max_ms=float(data["late_max_ms"]),
            loop_lag_ms=float(data.get("loop_lag_ms", 0.0)),
            users=int(data["users"]),
            in_flight_max=int(data["in_flight_max"]),
            histogram=Histogram.from_wire(data["histogram"]),
            tasks={k: TaskCounts.from_wire(v) for k, v in (data.get("tasks") or {}).items()},
        )


@dataclass(frozen=True)
class LoadSample:
    """One second of the whole load, all processes merged."""

    t_s: int
    """Seconds since the profile began; the sample covers ``[t_s, t_s + 1)``."""
    offered_rps: float
    """The profile's expected requests in this second (the independent variable)."""
    scheduled: int
    """Arrivals the schedule placed in this second (equals offered on average; Poisson varies)."""
    sent_rps: int
    achieved_rps: int
    """Requests that got an HTTP response in this second, any status."""
    failures: int
    conn_errors: int
    dropped: int
    users: int
    in_flight: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    late_max_ms: float
    loop_lag_ms: float
    """Worst event-loop lag of a load process: above ~20 ms the generator is saturated."""
    generator_cpu: float | None
    """Highest CPU use of one load process in this second, in cores (1.0 = one busy core)."""
    tasks: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per locustfile task: ``count``, ``failures``, ``p50_ms``, ``p95_ms`` (when any ended)."""

    @property
    def error_rate(self) -> float:
        """Failed share of the requests that ended in this second; 0 when none ended."""
        ended = self.achieved_rps + self.conn_errors
        return self.failures / ended if ended else 0.0

    def signals(self) -> dict[str, float]:
        """The ``timeseries.csv`` signals of this second (missing percentiles left out)."""
        out: dict[str, float] = {
            "offered_rps": self.offered_rps,
            "achieved_rps": float(self.achieved_rps),
            "users": float(self.users),
            "error_rate": self.error_rate,
            "scheduled_rps": float(self.scheduled),
            "sent_rps": float(self.sent_rps),
            "failures": float(self.failures),
            "dropped": float(self.dropped),
            "in_flight": float(self.in_flight),
        }
        for name in ("latency_p50_ms", "latency_p95_ms", "latency_p99_ms"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.generator_cpu is not None:
            out["generator_cpu"] = self.generator_cpu
        for name, values in self.tasks.items():
            out[f"task_rps:{name}"] = values["count"]
            out[f"task_failures:{name}"] = values["failures"]
            for key in ("p50_ms", "p95_ms"):
                if key in values:
                    out[f"task_{key}:{name}"] = values[key]
        return out

    def to_json(self) -> dict[str, Any]:
        """A flat JSON-ready record (``hpalab load --json``); ``tasks`` only with a
        locustfile."""
        data = {k: round(v, 3) if isinstance(v, float) else v for k, v in self.__dict__.items()}
        data["error_rate"] = round(self.error_rate, 6)
        del data["tasks"]
        if self.tasks:
            data["tasks"] = {
                name: {k: round(v, 3) for k, v in values.items()}
                for name, values in self.tasks.items()
            }
        return data


def merge_second(
    t_s: int,
    parts: Sequence[WorkerSecond],
    *,
    offered_rps: float,
    scheduled: int,
    generator_cpu: float | None = None,
) -> LoadSample:
    """Merge the records of every load process for second ``t_s``."""
    histogram = merged(p.histogram for p in parts)
    return LoadSample(
        t_s=t_s,
        offered_rps=offered_rps,
        scheduled=scheduled,
        sent_rps=sum(p.sent for p in parts),
        achieved_rps=sum(p.responses for p in parts),
        failures=sum(p.failures for p in parts),
        conn_errors=sum(p.conn_errors for p in parts),
        dropped=sum(p.dropped for p in parts),
        users=sum(p.users for p in parts),
        in_flight=sum(p.in_flight_max for p in parts),
        latency_p50_ms=histogram.percentile(0.50),
        latency_p95_ms=histogram.percentile(0.95),
        latency_p99_ms=histogram.percentile(0.99),
        late_max_ms=max((p.late_max_ms for p in parts), default=0.0),
        loop_lag_ms=max((p.loop_lag_ms for p in parts), default=0.0),
        generator_cpu=generator_cpu,
        tasks=_merged_tasks(parts),
    )


def _merged_tasks(parts: Sequence[WorkerSecond]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in sorted({name for p in parts for name in p.tasks}):
        counts = [p.tasks[name] for p in parts if name in p.tasks]
        histogram = merged(c.histogram for c in counts)
        values = {
            "count": float(sum(c.count for c in counts)),
            "failures": float(sum(c.failures for c in counts)),
        }
        for key, q in (("p50_ms", 0.50), ("p95_ms", 0.95)):
            value = histogram.percentile(q)
            if value is not None:
                values[key] = value
        out[name] = values
    return out
