"""Per-trial timelines: the signals and events of one trial as chart panels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hpalab.analysis.episodes import Slo
from hpalab.analysis.faults import fault_windows
from hpalab.analysis.traces import Trace, number
from hpalab.report.charts import Marker, Panel, Series, Span, nice_ceiling, timeline

POD_MARKERS = {
    "pod_created": ("m-created", "bottom"),
    "pod_ready": ("m-ready", "bottom"),
    "pod_deleted": ("m-deleted", "bottom"),
    "pod_crashed": ("m-fault", "full"),
    "fault": ("m-fault", "full"),
}


def _series(trace: Trace, name: str, label: str, css: str, *, step: bool = False) -> Series:
    t = trace.signals.index.to_numpy(dtype="float64")
    return Series(label, css, t, trace.signal(name).to_numpy(), step=step)


def _replica_series(trace: Trace, others: list[Trace]) -> list[Series]:
    faint = [
        _series(o, "ready_replicas", "ready (other reps)", "c-other", step=True) for o in others
    ]
    return [
        *faint,
        _series(trace, "demand_replicas", "demand", "c-demand", step=True),
        _series(trace, "desired_replicas", "desired", "c-desired", step=True),
        _series(trace, "spec_replicas", "spec", "c-spec", step=True),
        _series(trace, "ready_replicas", "ready", "c-ready", step=True),
    ]


def step_markers(trace: Trace) -> list[Marker]:
    """Load steps, drawn across every panel."""
    steps = trace.events_of("load_step")
    return [
        Marker(float(at), "m-step", f"load step → {number(f, 'to_rps'):g} rps")
        for at, f in zip(steps["t_s"], steps["fields"], strict=True)
    ]


def fault_marks(trace: Trace) -> tuple[list[Span], list[Marker]]:
    """Injected faults: a shaded band over each outage, a full-height mark for instant ones
    (``killPods``), drawn across every panel."""
    spans, marks = [], []
    for w in fault_windows(trace):
        label = f"{w.type} on {w.component}: {w.start_s:.1f}–{w.end_s:.1f} s"
        if w.end_s > w.start_s:
            spans.append(Span(w.start_s, w.end_s, f"b-fault b-{w.component}", label))
        else:
            marks.append(Marker(w.start_s, "m-injected", f"{w.type} at {w.start_s:.1f} s"))
    return spans, marks


def trial_panels(trace: Trace, *, slo: Slo, others: list[Trace] | None = None) -> list[Panel]:
    """Load, metric, replicas and latency panels of one trial.

    ``others`` are the other repetitions of the variant: their Ready replicas are drawn faintly
    behind this trial's, to show how much repetitions differ.
    """
    spans, kills = fault_marks(trace)
    steps = step_markers(trace) + kills
    replicas = _replica_series(trace, others or [])
    load = [
        _series(trace, "offered_rps", "offered", "c-offered"),
        _series(trace, "achieved_rps", "achieved", "c-achieved"),
    ]
    metric = [
        _series(trace, "metric_value", "metric", "c-metric"),
        _series(trace, "metric_target", "target", "c-target", step=True),
    ]
    latency = [_series(trace, f"latency_p{p}_ms", f"p{p}", f"c-p{p}") for p in (50, 95, 99)]
    return [
        Panel("Load", "rps", load, steps, spans=spans),
        Panel("Metric vs target", "", metric, steps, spans=spans),
        Panel(
            "Replicas vs demand",
            "replicas",
            replicas,
            steps + decision_markers(trace) + pod_markers(trace),
            y_max=_even_ceiling(replicas),
            spans=spans,
        ),
        Panel(
            f"Latency vs SLO (p{slo.percentile} ≤ {slo.latency_ms:g} ms)",
            "ms",
            latency,
            steps,
            guide=slo.latency_ms,
            y_max=_latency_cap(trace, slo),
            spans=spans,
        ),
    ]


def _even_ceiling(series: list[Series]) -> float:
    """An even number of replicas above every value, so the middle grid line is a whole one."""
    values = [np.asarray(s.values, dtype="float64") for s in series]
    highest = max([float(np.nanmax(v)) for v in values if np.isfinite(v).any()] + [1.0])
    return float(2 * math.ceil(highest * 1.05 / 2))


def _latency_cap(trace: Trace, slo: Slo) -> float:
    """A y range that shows the SLO line and most samples; rare spikes are clipped to the top."""
    values = trace.signal("latency_p99_ms").dropna()
    if values.empty:
        values = trace.signal(slo.latency_signal).dropna()
    high = float(np.percentile(values, 98)) if not values.empty else 0.0
    return nice_ceiling(max(high, slo.latency_ms * 1.5))


def decision_markers(trace: Trace) -> list[Marker]:
    """HPA decisions: scale-ups and scale-downs full height, unchanged ones as top ticks."""
    out = []
    decisions = trace.decisions()
    for at, fields in zip(decisions["t_s"], decisions["fields"], strict=True):
        desired, current = number(fields, "desired"), number(fields, "current")
        reason = str(fields.get("reason", ""))
        label = f"HPA sync at {at:.1f} s: {current:g} → {desired:g} {reason}".strip()
        if math.isnan(desired) or math.isnan(current) or desired == current:
            out.append(Marker(float(at), "m-sync", label, "top"))
        else:
            out.append(Marker(float(at), "m-up" if desired > current else "m-down", label))
    return out


def pod_markers(trace: Trace) -> list[Marker]:
    """Pod lifecycle events as short ticks at the bottom of the replicas panel."""
    chosen = trace.events[trace.events["kind"].isin(list(POD_MARKERS))]
    return [
        Marker(float(at), POD_MARKERS[kind][0], f"{kind} {obj} at {at:.1f} s", POD_MARKERS[kind][1])
        for at, kind, obj in zip(chosen["t_s"], chosen["kind"], chosen["object"], strict=True)
    ]


def trial_svg(
    trace: Trace, *, slo: Slo, t0: float, t1: float, chart_id: str, others: list[Trace]
) -> str:
    """The timeline SVG of one trial."""
    return timeline(trial_panels(trace, slo=slo, others=others), t0=t0, t1=t1, chart_id=chart_id)


def representative(trial_ids: list[str], summary: pd.DataFrame) -> str:
    """The trial whose time to capacity is the median of its variant (first on ties)."""
    rows = summary[summary["trial_id"].isin(trial_ids)]
    values = rows["time_to_capacity_s"].to_numpy(dtype="float64")
    known = ~np.isnan(values)
    if not known.any():
        return trial_ids[0]
    ordered = np.sort(values[known])
    target = ordered[(len(ordered) - 1) // 2]
    pick = rows[known & (values == target)]
    return str(pick["trial_id"].iloc[0])
