"""What each injected fault did to the autoscaling: when the HPA noticed it, what capacity was
lost, how long capacity took to come back, and the SLO violation it caused.

A fault's window is from its ``fault_injected`` event to its ``fault_cleared`` event (the
planned end when that is missing); an instantaneous fault (``killPods``) has an empty window.
Its aftermath runs from the end of the window until capacity is back. Times are seconds since
the load phase began; ``inf`` means the awaited thing never happened before the trial ended.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from hpalab.analysis.episodes import Slo
from hpalab.analysis.traces import Trace, number, value_at


@dataclass(frozen=True)
class FaultWindow:
    """One injected fault, as events.csv recorded it."""

    index: int
    """Its position in ``spec.events``."""
    type: str
    component: str
    start_s: float
    end_s: float
    """Equal to ``start_s`` for an instantaneous fault."""
    ready_killed: float = math.nan
    """Ready replicas a ``killPods`` took, as the platform recorded it (NaN otherwise)."""


@dataclass(frozen=True)
class FaultImpact:
    """The measured reaction to one fault (see docs/report.md for the definitions)."""

    fault: FaultWindow
    notice_s: float
    """Fault start → the first HPA sync whose conditions or decision differ from before it."""
    replicas_lost: float
    """Ready replicas just before the fault minus the fewest Ready during it and its
    aftermath (0 when none was lost); for a pod kill at least the Ready pods it took."""
    scale_change: float
    """The scale (spec replicas) at the end of the window minus the one at its start: 0
    means the HPA held its replicas."""
    recovery_s: float
    """End of the window → the first time Ready replicas reach demand again (0 when they
    never fell below it)."""
    slo_violation_s: float
    """Seconds outside the SLO from the fault's start to the end of its aftermath (each load
    second that overlaps that span counts)."""


def fault_windows(trace: Trace) -> list[FaultWindow]:
    """The faults of a trial in the order they began."""
    cleared = {
        int(number(f, "event")): float(t)
        for t, f in zip(
            trace.events_of("fault_cleared")["t_s"],
            trace.events_of("fault_cleared")["fields"],
            strict=True,
        )
        if not math.isnan(number(f, "event"))
    }
    injected = trace.events_of("fault_injected")
    out = []
    for t_s, obj, fields in zip(
        injected["t_s"], injected["object"], injected["fields"], strict=True
    ):
        index = int(number(fields, "event")) if not math.isnan(number(fields, "event")) else -1
        planned_end = number(fields, "planned_end_s")
        end = cleared.get(index, planned_end if not math.isnan(planned_end) else float(t_s))
        out.append(
            FaultWindow(
                index,
                str(fields.get("type", "")),
                str(obj),
                float(t_s),
                max(end, t_s),
                ready_killed=number(fields, "ready_killed"),
            )
        )
    return out


def fault_impacts(trace: Trace, *, slo: Slo) -> list[FaultImpact]:
    """The impact of every fault of ``trace``."""
    return [_impact(trace, fault, slo) for fault in fault_windows(trace)]


def _impact(trace: Trace, fault: FaultWindow, slo: Slo) -> FaultImpact:
    ready = trace.signal("ready_replicas")
    recovery = _recovery_s(trace, fault)
    after = fault.end_s + (recovery if math.isfinite(recovery) else math.inf)
    span = ready[(ready.index >= fault.start_s) & (ready.index <= max(after, fault.start_s + 1))]
    before = value_at(ready[ready.index < fault.start_s], fault.start_s)
    lowest = float(span.min()) if span.notna().any() else math.nan
    lost = max(before - lowest, 0.0) if not math.isnan(before) else math.nan
    if not math.isnan(fault.ready_killed):
        # a replacement or a pod already starting can be Ready before the next 1 s sample
        lost = max(lost, fault.ready_killed) if not math.isnan(lost) else fault.ready_killed
    scale = trace.signal("spec_replicas")
    return FaultImpact(
        fault=fault,
        notice_s=_notice_s(trace, fault, until=max(after, fault.end_s)),
        replicas_lost=lost,
        scale_change=value_at(scale, fault.end_s) - value_at(scale, fault.start_s - 1e-9),
        recovery_s=recovery,
        slo_violation_s=_violation_s(trace, slo, fault.start_s, after),
    )


def _recovery_s(trace: Trace, fault: FaultWindow) -> float:
    ready, demand = trace.signal("ready_replicas"), trace.signal("demand_replicas")
    # Without a demand signal, capacity is back when Ready returns to its level before the fault.
    needed = (
        demand
        if demand.notna().any()
        else pd.Series(
            value_at(ready[ready.index < fault.start_s], fault.start_s), index=ready.index
        )
    )
    later = ready.index >= fault.end_s
    if not later.any():
        return math.nan
    ok = (ready[later] >= needed[later]) & ready[later].notna()
    if not ok.any():
        return math.inf
    first = float(ok[ok].index.to_numpy(dtype="float64")[0])
    return max(first - fault.end_s, 0.0)


def _notice_s(trace: Trace, fault: FaultWindow, *, until: float) -> float:
    decisions = trace.events_of("hpa_decision")
    times = decisions["t_s"].to_numpy(dtype="float64")
    fields = list(decisions["fields"])
    earlier = [f for t, f in zip(times, fields, strict=True) if t < fault.start_s]
    previous = _state(earlier[-1]) if earlier else None
    for t, f in zip(times, fields, strict=True):
        if t < fault.start_s or t > until:
            continue
        scaled = number(f, "desired") != number(f, "current")
        if scaled or (previous is not None and _state(f) != previous):
            return float(t) - fault.start_s
    return math.inf


def _state(fields: dict[str, Any]) -> str:
    """The part of an HPA sync that shows it noticed something: each condition's status and
    reason (not the message, which carries changing numbers)."""
    conditions = fields.get("conditions") or []
    pairs = sorted(
        (str(c.get("type")), str(c.get("status")), str(c.get("reason")))
        for c in conditions
        if isinstance(c, dict)
    )
    return json.dumps(pairs)


def _violation_s(trace: Trace, slo: Slo, start: float, end: float) -> float:
    latency, errors = trace.signal(slo.latency_signal), trace.signal("error_rate")
    if not latency.notna().any():
        return math.nan
    # a load sample at t covers the requests of [t, t + dt): it counts when that overlaps
    seconds = latency.index.to_numpy(dtype="float64")
    inside = (seconds + trace.dt_s > start) & (seconds < end)
    violated = ((latency > slo.latency_ms) | (errors > slo.error_rate)) & inside
    return float(violated.sum()) * trace.dt_s
