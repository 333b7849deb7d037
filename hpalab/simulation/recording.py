"""What a simulated trial records: the run directory's signals, events and counter series.

The load signals follow the load driver's conventions: second ``t`` covers ``[t, t + 1)``,
responses (and their latency, as the client sees it) count in the second they end, and
percentiles are read through the driver's latency histogram buckets. The platform signals are
sampled at each whole second, as the trial loop samples a real platform. Pure code.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hpalab.autoscaling.hpa import SyncResult
from hpalab.autoscaling.hpa.readout import decision_detail, first_metric
from hpalab.collectors.hpa import hpa_signals
from hpalab.load.histogram import bucket_of, bucket_value
from hpalab.specs import ExperimentSpec, capacity_rps

if TYPE_CHECKING:
    from hpalab.simulation.pods import SimPod
    from hpalab.simulation.trial import TrialOutput, _Trial

COUNTER_QUERY = "sum by (namespace, pod) (http_requests_total)"
_PERCENTILES = ((50, "latency_p50_ms"), (95, "latency_p95_ms"), (99, "latency_p99_ms"))


@dataclass(frozen=True, slots=True)
class _View:
    """The few snapshot fields :func:`hpa_signals` reads."""

    spec_replicas: int
    desired_replicas: int
    ready_replicas: int
    metric_value: float | None
    metric_target: float | None


class Recorder:
    """Collects one trial's rows as it runs."""

    def __init__(
        self, *, warmup_s: float, end_s: float, offered: tuple[float, ...], spec: ExperimentSpec
    ) -> None:
        self.first = -math.floor(warmup_s)
        self.served: list[float] = []
        """Arrival times of the requests a replica accepted."""
        self.done: list[float] = []
        """Their completion times, in the same order."""
        self.refused: list[float] = []
        """Arrival times of the requests refused at once (503: queue full or no replica)."""
        self.offered = offered
        self.spec = spec
        self.hpa = spec.hpa.to_kubernetes()
        self.capacity = capacity_rps(spec)
        self.signals: list[tuple[float, str, float]] = []
        self.events: list[tuple[float, str, str, dict[str, Any]]] = []
        self.counters: list[tuple[float, str, float]] = []
        self.last: SyncResult | None = None
        self.metric: tuple[float | None, float | None] = first_metric({}, self.hpa)
        """(current value, target) of the first metric at the last sync."""

    def event(self, t_s: float, kind: str, obj: str, detail: dict[str, Any]) -> None:
        self.events.append((round(t_s, 3), kind, obj, detail))

    def decision(self, t_s: float, current: int, result: SyncResult) -> None:
        """An HPA sync, with the detail the local control plane records."""
        self.last = result
        self.metric = first_metric(result.status, self.hpa)
        self.event(t_s, "hpa_decision", "hpa/sample-app", decision_detail(current, result))

    def tick(self, t_s: float, trial: _Trial) -> None:
        """Sample the platform at a whole second."""
        desired = self.last.status.get("desiredReplicas") if self.last is not None else None
        value, target = self.metric
        view = _View(
            spec_replicas=trial.replicas,
            desired_replicas=int(trial.replicas if desired is None else desired),
            ready_replicas=sum(p.is_ready(t_s) and p.terminating_s is None for p in trial.pods),
            metric_value=value,
            metric_target=target,
        )
        index = int(t_s) - self.first
        rate = trial.data.rate_at_tick[index] if index < len(trial.data.rate_at_tick) else 0.0
        for name, number in hpa_signals(view, offered_rps=rate, capacity_rps=self.capacity).items():
            self.signals.append((t_s, name, number))
        for pod in trial.pods:
            if pod.scraped_total is not None:
                self.counters.append((t_s, pod.name, pod.scraped_total))

    def output(self, trial_id: str, *, overhead_s: float) -> TrialOutput:
        """Every row of the trial, load signals included (``overhead_s`` is what the client
        and front door add to each response time)."""
        from hpalab.simulation.trial import TrialOutput

        self.signals.extend(self._load_signals(overhead_s))
        return TrialOutput(trial_id, self.signals, self.events, self.counters)

    def _load_signals(self, overhead_s: float) -> list[tuple[float, str, float]]:
        """Responses per second ``[t, t + 1)`` by the time they end, errors and percentiles."""
        served, done = np.array(self.served), np.array(self.done)
        refused = np.array(self.refused)
        ends = np.concatenate((done, refused)) + overhead_s
        latency = np.concatenate((done - served, np.zeros(len(refused)))) + overhead_s
        failed = np.concatenate((np.zeros(len(done), bool), np.ones(len(refused), bool)))
        second = np.floor(ends).astype(np.int64) - self.first
        keep = (second >= 0) & (second < len(self.offered))
        second, latency, failed = second[keep], latency[keep], failed[keep]
        size = len(self.offered)
        responses = np.bincount(second, minlength=size)
        errors = np.bincount(second, weights=failed, minlength=size)
        order = np.lexsort((latency, second))
        ranked = latency[order]
        starts = np.concatenate(([0], np.cumsum(responses)[:-1]))
        # requests in flight at the start of each second: the users an open-model generator
        # needs busy at that instant
        grid = self.first + np.arange(size, dtype="float64")
        arrived = np.searchsorted(np.sort(np.concatenate((served, refused))), grid, side="right")
        ended = np.searchsorted(np.sort(ends), grid, side="right")
        in_flight = arrived - ended
        rows: list[tuple[float, str, float]] = []
        for index, offered in enumerate(self.offered):
            t, n = float(self.first + index), int(responses[index])
            rows += [
                (t, "offered_rps", offered),
                (t, "achieved_rps", float(n)),
                (t, "error_rate", float(errors[index]) / n if n else 0.0),
                (t, "users", float(in_flight[index])),
            ]
            for q, name in _PERCENTILES if n else ():
                rank = max(1, math.ceil(q / 100 * n))
                ms = float(ranked[starts[index] + rank - 1]) * 1000.0
                rows.append((t, name, bucket_value(bucket_of(ms))))
        return rows

    def cpu_seconds(self, pod: SimPod, t0: float, t1: float) -> float:
        """CPU a replica spent on requests completed in ``[t0, t1]`` (cpuPerRequest each)."""
        now = pod.count_until(t1)
        return (now - _count_at(pod.marks, t0)) * self.spec.app.cpu_per_request


def _count_at(marks: list[tuple[float, int]], t_s: float) -> float:
    """The completed-request count at ``t_s``, interpolated between the counts taken at
    scrapes and syncs (the requests in between complete at an even pace, near enough)."""
    times = [t for t, _ in marks]
    after = bisect.bisect_right(times, t_s)
    if after == 0:
        return 0.0
    if after == len(marks):
        return float(marks[-1][1])
    (t0, c0), (t1, c1) = marks[after - 1], marks[after]
    return c0 + (c1 - c0) * (t_s - t0) / (t1 - t0) if t1 > t0 else float(c1)
