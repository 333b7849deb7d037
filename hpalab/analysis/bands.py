"""The predicted latency band: what the pipeline's own delays allow, before measuring anything.

For a load step the detection latency and the time to capacity depend on clocks the
experiment does not control: where the step falls between two scrapes, between two HPA syncs,
between two readiness probes. :func:`predict_band` replays the pipeline for a grid of those
phases and reports the earliest, the median ("typical") and the worst outcome.

The model, per HPA sync at time τ: Prometheus holds counter samples every scrape interval;
``rate()`` over the window is the counter's slope between the first and the last sample in
``[τ − window, τ]``; the usage ratio is that rate over (current replicas × per-replica target);
outside the tolerance the proposal is ``ceil(ratio × current)``; the scale-up stabilization
window keeps the lowest proposal of the window; scaling policies limit the step; a new pod is
Ready after the start-up overhead, the start-up delay and the wait for the next readiness probe.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numpy as np


@dataclass(frozen=True)
class ScalingPolicy:
    """One HPA scale-up policy (``behavior.scaleUp.policies[]``)."""

    kind: Literal["Pods", "Percent"]
    value: float
    period_s: float


DEFAULT_SCALE_UP = (ScalingPolicy("Pods", 4, 15.0), ScalingPolicy("Percent", 100, 15.0))


@dataclass(frozen=True)
class PipelineParams:
    """Every delay of the pipeline that the band depends on (seconds unless stated)."""

    scrape_interval_s: float
    rate_window_s: float
    sync_period_s: float
    capacity_rps: float
    """What one replica serves (requests/s): demand = ceil(offered / capacity)."""
    tolerance: float = 0.1
    scale_up_stabilization_s: float = 0.0
    scale_up_policies: tuple[ScalingPolicy, ...] = DEFAULT_SCALE_UP
    select_policy: Literal["Max", "Min", "Disabled"] = "Max"
    legacy_limits: bool = False
    """True for an HPA without ``spec.behavior``: the scale-up limit is max(2 × current, 4)."""
    startup_delay_s: float = 0.0
    readiness_period_s: float = 1.0
    pod_start_overhead_s: float = 0.0
    """Creation to process start (scheduling, image, process launch)."""
    min_replicas: int = 1
    max_replicas: int = 10
    target_rps: float | None = None
    """Per-replica HPA target of the requests-per-second metric; None: the capacity."""

    @property
    def hpa_target_rps(self) -> float:
        """The per-replica rate the HPA scales to (requests/s)."""
        return self.capacity_rps if self.target_rps is None else self.target_rps


@dataclass(frozen=True)
class LoadStep:
    """A load increase at t = 0 from ``from_rps`` to ``to_rps``, linear over ``ramp_s``."""

    from_rps: float
    to_rps: float
    replicas_at_t0: int
    ramp_s: float = 0.0
    history_s: float = math.inf
    """How long before t0 load had been offered (modelled at ``from_rps``); before that none.
    A ``rate()`` window longer than this history averages in the idle time before it."""


@dataclass(frozen=True)
class Band:
    """Predicted (earliest, typical, worst) seconds; ``inf`` when it can never happen."""

    detection_s: tuple[float, float, float]
    time_to_capacity_s: tuple[float, float, float]
    scale_up_expected: bool
    note: str = ""

    def contains(self, which: str, measured: float, *, slack_s: float = 2.0) -> bool:
        """Whether ``measured`` lies in the band, ± ``slack_s``: the measured signals are sampled
        every second and reach the collector up to about a second late."""
        low, _, high = self.detection_s if which == "detection" else self.time_to_capacity_s
        if math.isnan(measured):
            return True
        if math.isinf(measured) or math.isinf(high):
            return math.isinf(measured) == math.isinf(high) or measured <= high
        return low - slack_s <= measured <= high + slack_s


@dataclass
class _State:
    replicas: int
    proposals: list[tuple[float, int]] = field(default_factory=list)
    scale_events: list[tuple[float, int]] = field(default_factory=list)
    ready_times: list[float] = field(default_factory=list)


PHASES = 5
"""Grid points per unknown clock phase (scrape, sync); probe phase uses 0, ½, 1 period."""


def predict_band(params: PipelineParams, step: LoadStep, *, horizon_s: float = 1800.0) -> Band:
    """Earliest, typical and worst detection latency and time to capacity for ``step``."""
    return _predict(params, step, horizon_s)


@lru_cache(maxsize=512)
def _predict(params: PipelineParams, step: LoadStep, horizon_s: float) -> Band:
    demand_final = math.ceil(step.to_rps / params.capacity_rps - 1e-9)
    threshold = step.replicas_at_t0 * params.hpa_target_rps * (1 + params.tolerance)
    if step.to_rps <= threshold:
        never = demand_final > step.replicas_at_t0
        capacity = (math.inf if never else 0.0,) * 3
        return Band((math.inf,) * 3, capacity, False, "within tolerance: no scale-up expected")
    detections, capacities = [], []
    for scrape in np.linspace(0, params.scrape_interval_s, PHASES, endpoint=False):
        for sync in np.linspace(0, params.sync_period_s, PHASES, endpoint=False):
            for probe in (0.0, 0.5, 1.0):
                d, c = _simulate(
                    params,
                    step,
                    scrape=float(scrape),
                    sync=float(sync),
                    probe=probe,
                    horizon_s=horizon_s,
                )
                detections.append(d)
                capacities.append(c)
    note = ""
    if demand_final > params.max_replicas:
        note = f"demand {demand_final} exceeds maxReplicas {params.max_replicas}"
    return Band(_spread(detections), _spread(capacities), True, note)


def _spread(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    return ordered[0], ordered[len(ordered) // 2], ordered[-1]


def _offered(step: LoadStep, t: float) -> float:
    if t < 0:
        return step.from_rps
    if step.ramp_s > 0 and t < step.ramp_s:
        return step.from_rps + (step.to_rps - step.from_rps) * t / step.ramp_s
    return step.to_rps


def _counter(step: LoadStep, t: float) -> float:
    """Requests served up to ``t`` (0 at the step), integrating the offered rate."""
    if t <= 0:
        return step.from_rps * max(t, -step.history_s)
    ramp = min(t, step.ramp_s)
    slope = (step.to_rps - step.from_rps) / step.ramp_s if step.ramp_s > 0 else 0.0
    return step.from_rps * ramp + slope * ramp * ramp / 2 + step.to_rps * (t - ramp)


def _observed_rate(params: PipelineParams, step: LoadStep, tau: float, scrape: float) -> float:
    interval = params.scrape_interval_s
    last = scrape + math.floor((tau - scrape) / interval) * interval
    first = last - math.floor(params.rate_window_s / interval) * interval
    if first < tau - params.rate_window_s - 1e-9:
        first += interval
    if last - first <= 0:
        return step.from_rps
    return (_counter(step, last) - _counter(step, first)) / (last - first)


def _simulate(
    params: PipelineParams,
    step: LoadStep,
    *,
    scrape: float,
    sync: float,
    probe: float,
    horizon_s: float,
) -> tuple[float, float]:
    state = _State(replicas=step.replicas_at_t0)
    # Syncs before the step recommended the current scale; the stabilization window sees them.
    earlier = math.ceil(params.scale_up_stabilization_s / params.sync_period_s)
    state.proposals = [
        (sync - k * params.sync_period_s, state.replicas) for k in range(earlier, 0, -1)
    ]
    ready_delay = params.pod_start_overhead_s + params.startup_delay_s
    # Once the rate() window holds only post-step samples, a sync that wants no more replicas
    # will be repeated identically forever: the outcome is settled.
    settled_at = step.ramp_s + params.rate_window_s + params.scrape_interval_s
    detection, ttc = math.inf, _capacity_time(params, step, state)
    tau = sync
    while tau <= horizon_s:
        desired, wanted = _decide(params, state, tau, _observed_rate(params, step, tau, scrape))
        if desired > state.replicas:
            detection = min(detection, tau)
            ready_at = tau + ready_delay + probe * params.readiness_period_s
            state.ready_times += [ready_at] * (desired - state.replicas)
            state.scale_events.append((tau, desired - state.replicas))
            state.replicas = desired
            ttc = _capacity_time(params, step, state)
        if math.isfinite(ttc) and ttc <= tau:
            return detection, ttc
        done = wanted <= state.replicas or state.replicas >= params.max_replicas
        if done and tau >= settled_at:
            break
        tau += params.sync_period_s
    return detection, ttc


def _decide(params: PipelineParams, state: _State, tau: float, rate: float) -> tuple[int, int]:
    """(new scale, unlimited proposal) of one sync; only scale-ups are modelled."""
    current = state.replicas
    ratio = rate / (current * params.hpa_target_rps)
    proposal = math.ceil(ratio * current - 1e-9) if ratio > 1 + params.tolerance else current
    window = params.scale_up_stabilization_s
    state.proposals = [(t, p) for t, p in state.proposals if tau - t < window]
    state.proposals.append((tau, proposal))
    stabilized = min(p for _, p in state.proposals)
    if stabilized <= current:
        return current, proposal
    return min(stabilized, _scale_up_limit(params, state, tau), params.max_replicas), proposal


def _scale_up_limit(params: PipelineParams, state: _State, tau: float) -> int:
    current = state.replicas
    if params.legacy_limits:
        return max(2 * current, 4)
    if params.select_policy == "Disabled":
        return current
    limits = []
    for policy in params.scale_up_policies:
        added = sum(c for t, c in state.scale_events if tau - t < policy.period_s)
        base = current - added
        if policy.kind == "Pods":
            limits.append(int(base + policy.value))
        else:
            limits.append(math.ceil(base * (1 + policy.value / 100) - 1e-9))
    if not limits:
        return current
    return max(current, max(limits) if params.select_policy == "Max" else min(limits))


def _capacity_time(params: PipelineParams, step: LoadStep, state: _State) -> float:
    """When Ready replicas first meet the demand after the demand first exceeded them.

    Between two pods becoming Ready the supply is flat and the demand does not fall, so the
    catch-up happens at a Ready instant (or at the start of the shortfall).
    """
    r0 = step.replicas_at_t0
    start = _shortfall_start(step, r0 * params.capacity_rps)
    if math.isinf(start):
        return 0.0
    times = sorted(state.ready_times)
    instants = [start, *(t for t in times if t > start)]
    for t in instants:
        ready = r0 + sum(1 for x in times if x <= t)
        # Demand just after t: at the shortfall's start it has just passed the supply.
        if ready >= math.ceil(_offered(step, t + 1e-6) / params.capacity_rps - 1e-9):
            return t
    return math.inf


def _shortfall_start(step: LoadStep, supply_rps: float) -> float:
    """First t ≥ 0 where the offered rate exceeds what the replicas at t0 serve."""
    if step.to_rps <= supply_rps:
        return math.inf
    if step.ramp_s <= 0 or step.from_rps > supply_rps:
        return 0.0
    return (supply_rps - step.from_rps) / (step.to_rps - step.from_rps) * step.ramp_s
