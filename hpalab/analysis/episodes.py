"""Scale-up episodes: how long each part of the pipeline took to answer a load increase.

An episode starts at ``t0``, a ``load_step`` event whose stage rises above its ``from_rps``
(its ``to_rps`` or ``start_rps``, or for a spike the highest offered rate during the stage),
and ends at the next ``load_step`` that changes the rate again (or at the end of the measured
window). It counts only when the demand during the episode exceeds the Ready replicas at
``t0``: a rise the running replicas absorb needs no scale-up, so it has no latency to measure.

Values: a latency in seconds; ``inf`` when the thing never happened within the episode (never
detected, a pod never Ready, capacity never reached, SLO never recovered); NaN when the data
needed to tell are missing (no HPA decisions recorded, no pod events, no latency signal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hpalab.analysis.traces import Trace, number, value_at
from hpalab.analysis.waterfall import (
    Waterfall,
    activation_parts,
    actuation_parts,
    detection_parts,
)

INF = math.inf
NAN = math.nan


@dataclass(frozen=True)
class Slo:
    """The service level objective of the experiment."""

    latency_ms: float = 250.0
    """The latency bound, in ms."""
    percentile: int = 95
    """Which per-second latency percentile must stay under ``latency_ms`` (50, 95 or 99)."""
    error_rate: float = 0.01
    """The largest acceptable error ratio (0..1)."""
    recovery_hold_s: float = 10.0
    """How long latency and errors must stay within the SLO to count as recovered, in s."""

    @property
    def latency_signal(self) -> str:
        """The timeseries signal holding the SLO percentile (nearest of p50, p95, p99)."""
        nearest = min((50, 95, 99), key=lambda p: abs(p - self.percentile))
        return f"latency_p{nearest}_ms"


@dataclass(frozen=True)
class Episode:
    """One scale-up episode and its latencies (seconds; ``inf`` never, NaN unknown)."""

    t0_s: float
    end_s: float
    from_rps: float
    to_rps: float
    """The highest rate of the stage (its end rate, or the peak of a spike)."""
    replicas_at_t0: float
    demand_peak: float
    decision_at_s: float = NAN
    detection_s: float = NAN
    actuation_s: float = NAN
    time_to_capacity_s: float = NAN
    slo_recovery_s: float = NAN
    waterfall: Waterfall = field(default_factory=Waterfall)
    kind: str = ""
    """The stage type of the load step (step, ramp, spike, ...), '' when not recorded."""
    ramp_s: float = 0.0
    """How long the rate ramps after t0: the stage length for a ramp stage, else 0."""


@dataclass(frozen=True)
class LoadStepEvent:
    """A ``load_step`` event: a stage of the load profile began."""

    t_s: float
    from_rps: float
    to_rps: float
    start_rps: float
    kind: str


def load_steps(trace: Trace) -> list[LoadStepEvent]:
    """Every ``load_step`` event, in time order (missing rates are NaN, a missing type '')."""
    steps = trace.events_of("load_step")
    return [
        LoadStepEvent(
            float(t),
            number(f, "from_rps"),
            number(f, "to_rps"),
            number(f, "start_rps"),
            str(f.get("type", "")),
        )
        for t, f in zip(steps["t_s"], steps["fields"], strict=True)
    ]


INNER_PEAK_KINDS = ("spike", "sine", "trace")
"""Stage types whose highest rate lies inside the stage, not at its start or end."""


def _peak_rps(trace: Trace, step: LoadStepEvent, end: float) -> float:
    """The highest rate of the stage: its start or end rate, or for spikes, sines and traces
    (and events without rates) the highest offered rate recorded during it."""
    candidates = [step.to_rps, step.start_rps]
    if step.kind in INNER_PEAK_KINDS or all(math.isnan(c) for c in candidates):
        offered = trace.signal("offered_rps")
        during = offered[(offered.index >= step.t_s) & (offered.index < end)].dropna()
        candidates.append(float(during.max()) if len(during) else NAN)
    known = [c for c in candidates if not math.isnan(c)]
    return max(known) if known else NAN


def _is_flat(step: LoadStepEvent) -> bool:
    """A stage that keeps the rate it started with (a hold)."""
    if step.kind in INNER_PEAK_KINDS:
        return False
    start = step.from_rps if math.isnan(step.start_rps) else step.start_rps
    return step.to_rps == step.from_rps and start == step.from_rps


def find_episodes(
    trace: Trace, *, slo: Slo, tolerance: float = 0.1, rate_window_s: float | None = None
) -> list[Episode]:
    """The scale-up episodes of a trial, measured (see the module docstring).

    An episode runs on through the stages that hold its rate (a ramp then a plateau is one
    episode) and ends where the rate changes again. ``tolerance`` and ``rate_window_s`` (the
    adapter rule's ``rate()`` range) place the waterfall's boundaries (see
    :mod:`hpalab.analysis.waterfall`).
    """
    steps = load_steps(trace)
    window_end = float(trace.signals.index[-1]) + trace.dt_s if len(trace.signals) else 0.0
    stage_ends = [min(s.t_s, window_end) for s in steps[1:]] + [window_end]
    episodes: list[Episode] = []
    for i, step in enumerate(steps):
        peak = _peak_rps(trace, step, stage_ends[i])
        if not peak > step.from_rps or step.t_s >= window_end:
            continue
        changes = [s.t_s for s in steps[i + 1 :] if not _is_flat(s)]
        end = min(changes[0], window_end) if changes else window_end
        episode = _measure(
            trace, t0=step.t_s, end=end, slo=slo, tolerance=tolerance, window_s=rate_window_s
        )
        if episode is not None:
            ramp = stage_ends[i] - step.t_s if step.kind == "ramp" else 0.0
            fields = {"from_rps": step.from_rps, "to_rps": peak, "kind": step.kind, "ramp_s": ramp}
            episodes.append(Episode(**{**episode.__dict__, **fields}))
    return episodes


def _measure(
    trace: Trace, *, t0: float, end: float, slo: Slo, tolerance: float, window_s: float | None
) -> Episode | None:
    ready = trace.signal("ready_replicas")
    demand = trace.signal("demand_replicas")
    in_episode = (ready.index >= t0) & (ready.index < end)
    replicas_t0 = value_at(ready, t0)
    peak = float(demand[in_episode].max()) if in_episode.any() else NAN
    if not peak > replicas_t0:
        return None
    decision_at, current, desired = _first_scale_up(trace, t0=t0, end=end)
    activation = _first_activation(trace, t0=t0, end=end)
    if activation is not None and not activation[0] > decision_at:
        decision_at, current, desired, active_since = activation
        parts = activation_parts(t0=t0, activated_at=decision_at, active_since=active_since)
    else:
        parts = detection_parts(
            trace, t0=t0, decision_at=decision_at, tolerance=tolerance, rate_window_s=window_s
        )
    detection = decision_at - t0 if math.isfinite(decision_at) else decision_at
    actuation, startup_end = _actuation(trace, decision_at, count=desired - current)
    waterfall = Waterfall(**parts, **actuation_parts(decision_at, actuation, startup_end))
    return Episode(
        t0_s=t0,
        end_s=end,
        from_rps=NAN,
        to_rps=NAN,
        replicas_at_t0=replicas_t0,
        demand_peak=peak,
        decision_at_s=decision_at,
        detection_s=detection,
        actuation_s=actuation,
        time_to_capacity_s=_time_to_capacity(ready, demand, t0=t0, end=end),
        slo_recovery_s=_slo_recovery(trace, slo, t0=t0, end=end),
        waterfall=waterfall,
    )


def _first_scale_up(trace: Trace, *, t0: float, end: float) -> tuple[float, float, float]:
    """(time, previous, desired) of the first decision after t0 raising the replicas.

    A decision raises the replicas when its ``desired`` exceeds the previous decision's (the
    first decision of a trial compares with its own ``current``). Returns NaN time without
    decision events, inf without a raising one.
    """
    decisions = trace.decisions()
    if decisions.empty:
        return NAN, NAN, NAN
    previous = NAN
    for t, fields in zip(decisions["t_s"], decisions["fields"], strict=True):
        desired = number(fields, "desired")
        if math.isnan(previous):
            previous = number(fields, "current")
        if t0 < t < end and desired > previous:
            return float(t), previous, desired
        if t >= end:
            break
        previous = desired if not math.isnan(desired) else previous
    return INF, NAN, NAN


def _first_activation(
    trace: Trace, *, t0: float, end: float
) -> tuple[float, float, float, float] | None:
    """(time, from, to, active since) of the first KEDA activation in (t0, end), if any.

    ``active_for_s`` in the event is how long the activation query had been seen above its
    threshold when the poll acted (NaN when not recorded).
    """
    events = trace.events_of("keda_activation")
    if events.empty:
        return None
    for t, fields in zip(events["t_s"], events["fields"], strict=True):
        if t0 < t < end:
            since = float(t) - number(fields, "active_for_s")
            return float(t), number(fields, "from"), number(fields, "to"), since
    return None


def _actuation(trace: Trace, decision_at: float, *, count: float) -> tuple[float, float]:
    """(actuation latency, time the last new pod's process started) for one decision.

    The pods of the decision are the first ``desired − current`` pods created at or after it;
    actuation ends when the last of them is Ready.
    """
    if not math.isfinite(decision_at):
        return decision_at, NAN
    created = trace.events_of("pod_created")
    if created.empty or not count >= 1:
        return NAN, NAN
    mine = created[created["t_s"] >= decision_at - 1e-9].head(int(count))
    if len(mine) < count:
        return INF, NAN
    ready = _times_by_pod(trace.events_of("pod_ready"))
    started = _times_by_pod(trace.events_of("pod_started"))
    last_ready, last_started = -INF, NAN
    for pod, born in zip(mine["object"], mine["t_s"], strict=True):
        ready_at = _first_after(ready.get(pod, []), born)
        if not math.isfinite(ready_at):
            return INF, NAN
        if ready_at > last_ready:
            start = _first_after(started.get(pod, []), born)
            last_ready, last_started = ready_at, start if math.isfinite(start) else born
    return last_ready - decision_at, last_started


def _times_by_pod(events: pd.DataFrame) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for pod, t in zip(events["object"], events["t_s"], strict=True):
        out.setdefault(str(pod), []).append(float(t))
    return out


def _first_after(times: list[float], t_s: float) -> float:
    return next((t for t in times if t >= t_s), INF)


def _time_to_capacity(ready: pd.Series, demand: pd.Series, *, t0: float, end: float) -> float:
    mask = (ready.index >= t0) & (ready.index < end)
    r, d = ready[mask], demand[mask]
    known = r.notna() & d.notna()
    if not known.any():
        return NAN
    # On a ramp the demand passes the supply some time after t0: the clock still starts at
    # t0, but capacity counts as reached only once the shortfall has begun and ended.
    short = (d > r) & known
    if not short.any():
        return 0.0
    met = (r >= d) & known & (r.index >= r.index[int(np.argmax(short.to_numpy()))])
    return float(r.index[int(np.argmax(met.to_numpy()))]) - t0 if met.any() else INF


def _slo_recovery(trace: Trace, slo: Slo, *, t0: float, end: float) -> float:
    """Seconds from t0 to the first instant from which the SLO holds for ``recovery_hold_s``.

    Missing latency or error samples break a streak (they are not evidence of health). The
    streak must start inside the episode but may run past its end.
    """
    latency, errors = trace.signal(slo.latency_signal), trace.signal("error_rate")
    if latency.dropna().empty:
        return NAN
    after = latency.index >= t0
    ok = ((latency <= slo.latency_ms) & (errors.fillna(0.0) <= slo.error_rate))[after]
    ok &= latency[after].notna()
    hold = max(1, math.ceil(slo.recovery_hold_s / trace.dt_s))
    flags = ok.to_numpy(dtype="int64")
    if len(flags) < hold:
        return INF
    window_sums = np.convolve(flags, np.ones(hold, dtype="int64"), mode="valid")
    starts = ok.index[: len(window_sums)][window_sums == hold]
    starts = starts[starts < end]
    return float(starts[0]) - t0 if len(starts) else INF
