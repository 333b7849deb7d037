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
        seconds = math.ceil(end_s) - self.first + 2
        self.responses = [0] * seconds
        self.errors = [0] * seconds
        self.latencies: list[list[float]] = [[] for _ in range(seconds)]
        self.offered = offered
        self.spec = spec
        self.hpa = spec.hpa.to_kubernetes()
        self.capacity = capacity_rps(spec)
        self.signals: list[tuple[float, str, float]] = []
        self.events: list[tuple[float, str, str, dict[str, Any]]] = []
        self.counters: list[tuple[float, str, float]] = []
        self.last: SyncResult | None = None

    def ok(self, t_s: float, latency_s: float) -> None:
        """A response at ``t_s`` after ``latency_s``."""
        index = math.floor(t_s) - self.first
        if 0 <= index < len(self.responses):
            self.responses[index] += 1
            self.latencies[index].append(latency_s)

    def error(self, t_s: float, latency_s: float) -> None:
        """A failed response (503) at ``t_s``."""
        index = math.floor(t_s) - self.first
        if 0 <= index < len(self.responses):
            self.responses[index] += 1
            self.errors[index] += 1
            self.latencies[index].append(latency_s)

    def event(self, t_s: float, kind: str, obj: str, detail: dict[str, Any]) -> None:
        self.events.append((round(t_s, 3), kind, obj, detail))

    def decision(self, t_s: float, current: int, result: SyncResult) -> None:
        """An HPA sync, with the detail the local control plane records."""
        self.last = result
        self.event(t_s, "hpa_decision", "hpa/sample-app", decision_detail(current, result))

    def tick(self, t_s: float, trial: _Trial) -> None:
        """Sample the platform at a whole second."""
        status = dict(self.last.status) if self.last is not None else {}
        value, target = first_metric(status, self.hpa)
        view = _View(
            spec_replicas=trial.replicas,
            desired_replicas=int(status.get("desiredReplicas", trial.replicas)),
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

    def output(self, trial_id: str) -> TrialOutput:
        """Every row of the trial, load signals included."""
        from hpalab.simulation.trial import TrialOutput

        for index, offered in enumerate(self.offered):
            self.signals.extend(self._load_second(self.first + index, index, offered))
        return TrialOutput(trial_id, self.signals, self.events, self.counters)

    def _load_second(self, t: int, index: int, offered: float) -> list[tuple[float, str, float]]:
        responses = self.responses[index] if index < len(self.responses) else 0
        rows = [
            (float(t), "offered_rps", offered),
            (float(t), "achieved_rps", float(responses)),
            (float(t), "error_rate", self.errors[index] / responses if responses else 0.0),
        ]
        if responses:
            ordered = sorted(self.latencies[index])
            for q, name in _PERCENTILES:
                rank = max(1, math.ceil(q / 100 * len(ordered)))
                ms = ordered[rank - 1] * 1000.0
                rows.append((float(t), name, bucket_value(bucket_of(ms))))
        return rows

    def cpu_seconds(self, pod: SimPod, t0: float, t1: float) -> float:
        """CPU a replica spent on requests completed in ``[t0, t1]`` (cpuPerRequest each)."""
        now = pod.count_until(t1)
        times = [t for t, _ in pod.marks]
        before = bisect.bisect_right(times, t0)
        start = pod.marks[before - 1][1] if before else 0
        return (now - start) * self.spec.app.cpu_per_request
