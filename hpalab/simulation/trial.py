"""One trial in virtual time: the whole pipeline, event by event.

Control events (pod transitions, scrapes, HPA syncs, the 1 s recording tick) sit in a heap;
between two of them the arrivals of that span are routed round robin to the Ready replicas
and pushed through each replica's queue (:mod:`hpalab.simulation.queueing`). A scrape counts
each replica's completed requests into the sample store; an HPA sync asks the metrics APIs
(:mod:`hpalab.simulation.metrics`, the adapter engine over the samples) and runs the HPA
engine, whose decisions create or remove replicas (:mod:`hpalab.simulation.pods`).

Time is seconds since the load phase began, as in the run directory. Pure code: the only
randomness comes from generators seeded by the caller.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.hpa import HPAController
from hpalab.autoscaling.hpa.versions import controller_config
from hpalab.simulation.calibration import Calibration, startup_sample
from hpalab.simulation.metrics import SimMetrics
from hpalab.simulation.pods import SimPod, removal_order
from hpalab.simulation.promql import SampleStore
from hpalab.simulation.queueing import ReplicaQueue, ServiceTime
from hpalab.simulation.recording import Recorder
from hpalab.specs import ExperimentSpec, parse_quantity_value

_POD, _SCRAPE, _SYNC, _TICK = 0, 1, 2, 3
"""Event kinds, in the order they run when due at the same instant."""
HPA_NAME = "sample-app"
RESET_GAP_S = 0.05
"""Seconds between the end of the reset (the HPA starts) and the start of the load."""


@dataclass(frozen=True)
class TrialInput:
    """Everything one simulated trial depends on."""

    trial_id: str
    spec: ExperimentSpec
    arrivals: Any
    """Arrival times (s since the load phase began, warm-up negative), ascending (ndarray)."""
    offered: tuple[float, ...]
    """Offered requests/s of each second from the start of the warm-up (the load signal)."""
    rate_at_tick: tuple[float, ...]
    """The profile's rate at each whole second from the start of the warm-up (0 during the
    warm-up, as the trial loop computes demand)."""
    load_s: float
    """Length of the load profile (the cool-down starts there)."""
    plan: tuple[tuple[float, str, str, dict[str, Any]], ...]
    """The phase and load_step events of the trial, as the trial loop writes them."""
    seed: int
    fresh_platform: bool = False
    """The run's first trial: the platform (and its replicas) just started."""
    calibration: Calibration = field(default_factory=Calibration)
    sync_offset_s: float | None = None
    """Seconds from an HPA sync to the load phase's start (``spec.phases.syncPhase``);
    ``None``: the phase is drawn (from the calibration, or uniformly)."""


@dataclass
class TrialOutput:
    """What one trial produced, as run-directory rows (``t_s`` since the load began)."""

    trial_id: str
    signals: list[tuple[float, str, float]]
    events: list[tuple[float, str, str, dict[str, Any]]]
    counters: list[tuple[float, str, float]]
    """(t_s, pod, value) of ``sum by (namespace, pod) (http_requests_total)`` each second."""


class _Trial:
    """The state of one running simulation."""

    def __init__(self, data: TrialInput) -> None:
        spec = data.spec
        self.data = data
        self.spec = spec
        self.rng = random.Random(data.seed)  # noqa: S311 - a seeded model, not cryptography
        self.calibration = data.calibration
        app = spec.app
        service = (app.cpu_per_request + app.latency) * data.calibration.service_factor
        self.service = ServiceTime(service)
        self.overhead_s = data.calibration.client_overhead_s
        self.warmup = spec.phases.warmup
        self.end_s = data.load_s + spec.phases.cooldown
        self.store = SampleStore()
        self.pods: list[SimPod] = []
        self.routable: list[SimPod] = []
        self.rr = 0
        self.replicas = app.initial_replicas
        self.heap: list[tuple[float, int, int, Any]] = []
        self.order = 0
        self.cpu_milli = round(
            float(parse_quantity_value(app.resources.requests.cpu or "200m")) * 1000
        )
        self.recorder = Recorder(
            warmup_s=self.warmup, end_s=self.end_s, offered=data.offered, spec=spec
        )
        self.recorder.events.extend(data.plan)
        self.metrics = SimMetrics(store=self.store, adapter=spec.adapter, cpu_usage=self._cpu_s)
        flags = spec.controller
        self.controller = HPAController(
            {
                **spec.hpa.to_kubernetes(),
                "scaleTargetRef": {"kind": "Deployment", "name": HPA_NAME},
            },
            controller_config(flags),
        )

    def push(self, t_s: float, kind: int, payload: Any = None) -> None:
        self.order += 1
        heapq.heappush(self.heap, (t_s, kind, self.order, payload))

    def start(self) -> None:
        """The state right after the platform's reset: initial replicas Ready, HPA starting.

        After an earlier trial the initial replicas are old pods whose request counters have
        a long history; on a freshly started platform (the run's first trial) they are new,
        and ``rate()`` over a long window sees only the seconds since their first scrape.
        """
        begin = -self.warmup - RESET_GAP_S
        for _ in range(self.spec.app.initial_replicas):
            fresh = self.data.fresh_platform
            pod = self._new_pod(begin if fresh else begin - 60.0, events=False)
            pod.ok = 0 if fresh else 1  # an old pod's series exists from earlier traffic
            pod.ready_s = pod.started_s = pod.created_s
            self.routable.append(pod)
        period = self.spec.controller.sync_period
        phases = self.calibration.sync_phase
        phase = phases[int(self.rng.random() * len(phases))] if phases else self.rng.random()
        if self.data.sync_offset_s is not None:  # a sync comes that long before second 0
            phase = (-self.data.sync_offset_s / period) % 1.0
        # the controller starts with the reset: its first sync is the first at its phase after
        first = begin + ((phase - begin / period) % 1.0) * period
        self.push(first, _SYNC)
        for t in range(-math.floor(self.warmup), math.floor(self.end_s) + 1):
            self.push(float(t), _TICK)

    def run(self) -> TrialOutput:
        self.start()
        arrivals: list[float] = self.data.arrivals.tolist()
        index, total = 0, len(arrivals)
        while self.heap:
            t_s, kind, _, payload = heapq.heappop(self.heap)
            if t_s > self.end_s:
                break
            if index < total and arrivals[index] < t_s:
                index = self._route(arrivals, index, t_s)
            if kind == _TICK:
                self.recorder.tick(t_s, self)
            elif kind == _SCRAPE:
                self._scrape(payload, t_s)
            elif kind == _SYNC:
                self._sync(t_s)
            else:
                self._transition(payload, t_s)
        return self.recorder.output(self.data.trial_id, overhead_s=self.overhead_s)

    def _route(self, arrivals: list[float], index: int, until: float) -> int:
        """Send the arrivals before ``until`` to the Ready replicas; returns the next index.

        Round robin sends arrival ``j`` of the batch to replica ``(rr + j) mod n``, so each
        replica's share is a strided slice, offered to its queue in one call.
        """
        stop = bisect.bisect_left(arrivals, until, lo=index)
        batch = arrivals[index:stop]
        ready, n = self.routable, len(self.routable)
        record = self.recorder
        if n == 0:  # the front door has no server: 503 at once
            record.refused.extend(batch)
            return stop
        for k, pod in enumerate(ready):
            share = batch[(k - self.rr) % n :: n]
            if not share:
                continue
            served: list[float] = []
            done: list[float] = []
            refused: list[float] = []
            pod.queue.offer_many(share, self.rng, served=served, done=done, refused=refused)
            pod.complete(done)
            pod.refused += len(refused)
            record.served.extend(served)
            record.done.extend(done)
            record.refused.extend(refused)
        self.rr = (self.rr + len(batch)) % n
        return stop

    def _new_pod(self, t_s: float, *, events: bool = True) -> SimPod:
        app = self.spec.app
        probe = app.readiness_probe
        started, ready = startup_sample(
            self.calibration,
            u=self.rng.random(),
            startup_delay_s=app.startup_delay,
            probe_period_s=probe.period,
            success_threshold=probe.success_threshold,
            phase=self.rng.random(),
        )
        suffix = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        pod = SimPod(
            name=f"{HPA_NAME}-sim-{suffix}",
            created_s=t_s,
            started_s=t_s + started,
            ready_s=t_s + ready,
            queue=ReplicaQueue(
                concurrency=app.concurrency, queue_limit=app.queue_limit, service=self.service
            ),
            scrape_offset_s=self.rng.random() * self.spec.prometheus.scrape_interval,
        )
        self.pods.append(pod)
        self.push(pod.started_s + pod.scrape_offset_s, _SCRAPE, pod)
        if events:
            self.recorder.event(t_s, "pod_created", pod.name, {})
            self.push(pod.started_s, _POD, ("pod_started", pod))
            self.push(pod.ready_s, _POD, ("pod_ready", pod))
        return pod

    def _transition(self, payload: tuple[str, SimPod], t_s: float) -> None:
        kind, pod = payload
        if pod.deleted_s is not None:
            return
        if kind == "pod_ready" and pod.terminating_s is None:
            self.routable.append(pod)
        elif kind == "pod_deleted":
            pod.deleted_s = t_s
            self.pods.remove(pod)
        elif kind == "pod_ready":
            return
        self.recorder.event(t_s, kind, pod.name, {})

    def _scrape(self, pod: SimPod, t_s: float) -> None:
        if pod.deleted_s is not None:
            return
        base = (("__name__", "http_requests_total"), ("method", "GET"), ("namespace", "default"))
        ok = pod.count_until(t_s)
        name = ("pod", pod.name)
        if ok:
            self.store.append((*base, ("path", "/"), name, ("status", "200")), t_s, float(ok))
        if pod.refused:
            labels = (*base, ("path", "/"), name, ("status", "503"))
            self.store.append(labels, t_s, float(pod.refused))
        if ok or pod.refused:
            pod.scraped_total = float(ok + pod.refused)
        self.push(t_s + self.spec.prometheus.scrape_interval, _SCRAPE, pod)

    def _sync(self, t_s: float) -> None:
        counted = [p for p in self.pods if p.terminating_s is None]
        views = [p.hpa_view(t_s, cpu_request_milli=self.cpu_milli) for p in self.pods]
        snapshot = self.metrics.snapshot(
            self.controller.spec, pods=[p.name for p in counted], now=t_s
        )
        current = self.replicas
        result = self.controller.sync(
            t_s, spec_replicas=current, status_replicas=len(counted), pods=views, metrics=snapshot
        )
        self.recorder.decision(t_s, current, result)
        if result.rescale and result.desired_replicas != current:
            self._scale(result.desired_replicas, t_s)
            self.recorder.event(
                t_s,
                "hpa_rescale",
                f"hpa/{HPA_NAME}",
                {"old": current, "new": result.desired_replicas, "reason": result.rescale_reason},
            )
        self.push(t_s + self.spec.controller.sync_period, _SYNC)

    def _scale(self, replicas: int, t_s: float) -> None:
        self.replicas = replicas
        counted = [p for p in self.pods if p.terminating_s is None]
        for _ in range(replicas - len(counted)):
            self._new_pod(t_s)
        for pod in removal_order(counted, t_s)[: max(0, len(counted) - replicas)]:
            pod.terminating_s = t_s
            if pod in self.routable:
                self.routable.remove(pod)
            self.recorder.event(t_s, "pod_terminating", pod.name, {})
            self.push(max(t_s, pod.queue.last_done_s), _POD, ("pod_deleted", pod))

    def _cpu_s(self, pod_name: str, t0: float, t1: float) -> float:
        """CPU seconds a replica used in ``[t0, t1]``: its requests' CPU work (busy time)."""
        for pod in self.pods:
            if pod.name == pod_name:
                return self.recorder.cpu_seconds(pod, t0, t1)
        return 0.0


def simulate_trial(data: TrialInput) -> TrialOutput:
    """Simulate one trial; the same input always gives the same output."""
    return _Trial(data).run()
