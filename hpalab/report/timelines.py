"""Per-trial timelines: the signals and events of one trial as chart panels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hpalab.analysis.episodes import Slo
from hpalab.analysis.traces import Trace, number
from hpalab.report.charts import Marker, Panel, Series, nice_ceiling, timeline

POD_MARKERS = {
    "pod_created": ("m-created", "bottom"),
    "pod_ready": ("m-ready", "bottom"),
    "pod_deleted": ("m-deleted", "bottom"),
    "pod_crashed": ("m-fault", "full"),
    "fault": ("m-fault", "full"),
}


def trial_panels(trace: Trace, *, slo: Slo, others: list[Trace] | None = None) -> list[Panel]:
    """Load, metric, replicas and latency panels of one trial.

    ``others`` are the other repetitions of the variant: their Ready replicas are drawn faintly
    behind this trial's, to show how much repetitions differ.
    """
    t = trace.signals.index.to_numpy(dtype="float64")

    def s(name: str, label: str, css: str, *, step: bool = False) -> Series:
        return Series(label, css, t, trace.signal(name).to_numpy(), step=step)

    steps = [
        Marker(float(at), "m-step", f"load step → {number(f, 'to_rps'):g} rps")
        for at, f in zip(
            trace.events_of("load_step")["t_s"], trace.events_of("load_step")["fields"], strict=True
        )
    ]
    replicas = [
        s("demand_replicas", "demand", "c-demand", step=True),
        s("desired_replicas", "desired", "c-desired", step=True),
        s("spec_replicas", "spec", "c-spec", step=True),
        s("ready_replicas", "ready", "c-ready", step=True),
    ]
    for other in others or []:
        replicas.insert(
            0,
            Series(
                "ready (other reps)",
                "c-other",
                other.signals.index.to_numpy(dtype="float64"),
                other.signal("ready_replicas").to_numpy(),
                step=True,
            ),
        )
    latency_cap = _latency_cap(trace, slo)
    return [
        Panel(
            "Load",
            "rps",
            [s("offered_rps", "offered", "c-offered"), s("achieved_rps", "achieved", "c-achieved")],
            steps,
        ),
        Panel(
            "Metric vs target",
            "",
            [
                s("metric_value", "metric", "c-metric"),
                s("metric_target", "target", "c-target", step=True),
            ],
            steps,
        ),
        Panel(
            "Replicas vs demand",
            "replicas",
            replicas,
            steps + decision_markers(trace) + pod_markers(trace),
        ),
        Panel(
            f"Latency vs SLO (p{slo.percentile} ≤ {slo.latency_ms:g} ms)",
            "ms",
            [
                s("latency_p50_ms", "p50", "c-p50"),
                s("latency_p95_ms", "p95", "c-p95"),
                s("latency_p99_ms", "p99", "c-p99"),
            ],
            steps,
            guide=slo.latency_ms,
            y_max=latency_cap,
        ),
    ]


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
    decisions = trace.events_of("hpa_decision")
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
