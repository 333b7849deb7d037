"""Every per-trial metric of the design, declared once with its unit and its good direction.

``summarize`` turns a run's trials into the rows of ``summary.csv``. A metric is NaN when it
does not apply or cannot be measured, ``inf`` when the awaited thing never happened (see
:mod:`hpalab.analysis.episodes`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hpalab.analysis.elasticity import elasticity
from hpalab.analysis.episodes import Episode, Slo, find_episodes
from hpalab.analysis.faults import fault_impacts
from hpalab.analysis.traces import Trace
from hpalab.analysis.waterfall import Waterfall

Better = Literal["lower", "higher", "zero", "none"]


@dataclass(frozen=True)
class MetricInfo:
    """What a metric measures, its unit, and which direction is better."""

    name: str
    unit: str
    better: Better
    label: str
    description: str


def _m(name: str, unit: str, better: Better, label: str, description: str) -> MetricInfo:
    return MetricInfo(name, unit, better, label, description)


METRICS: tuple[MetricInfo, ...] = (
    _m("episodes", "count", "none", "episodes", "scale-up episodes (load steps needing scale-up)"),
    _m("detection_latency_s", "s", "lower", "detection", "load increase → scale-up decision"),
    _m("actuation_latency_s", "s", "lower", "actuation", "decision → all its new pods Ready"),
    _m("time_to_capacity_s", "s", "lower", "time to capacity", "load increase → ready ≥ demand"),
    _m("slo_recovery_s", "s", "lower", "SLO recovery", "load increase → SLO holds for 10 s"),
    _m("wf_scrape_wait_s", "s", "lower", "scrape wait", "waterfall: until the metric moves"),
    _m("wf_rate_window_s", "s", "lower", "rate() window", "waterfall: until over threshold"),
    _m("wf_polling_wait_s", "s", "lower", "polling wait", "waterfall: until KEDA's next poll"),
    _m("wf_sync_wait_s", "s", "lower", "sync wait", "waterfall: until the next HPA sync"),
    _m("wf_hold_s", "s", "lower", "stabilization/policy", "waterfall: held by behavior"),
    _m("wf_startup_s", "s", "lower", "start-up", "waterfall: decision → pod process started"),
    _m("wf_readiness_s", "s", "lower", "readiness", "waterfall: process started → Ready"),
    _m("theta_u_pct", "%", "lower", "θU under-prov.", "SPEC under-provisioning accuracy"),
    _m("theta_o_pct", "%", "lower", "θO over-prov.", "SPEC over-provisioning accuracy"),
    _m("tau_u_pct", "%", "lower", "τU", "SPEC under-provisioning timeshare"),
    _m("tau_o_pct", "%", "lower", "τO", "SPEC over-provisioning timeshare"),
    _m("upsilon_pct", "%", "lower", "υ instability", "SPEC instability"),
    _m("psi_per_min", "1/min", "zero", "ψ jitter", "SPEC jitter: adaptations − changes"),
    _m("cost_replica_s", "replica·s", "lower", "cost", "replica-seconds of the scale"),
    _m("max_replicas", "replicas", "lower", "max replicas", "largest scale"),
    _m("reversals", "count", "lower", "reversals", "scaling direction reversals"),
    _m("slo_violation_s", "s", "lower", "SLO violation", "seconds outside the SLO"),
    _m("latency_p50_ms", "ms", "lower", "p50", "request-weighted mean of per-second p50"),
    _m("latency_p95_ms", "ms", "lower", "p95", "request-weighted mean of per-second p95"),
    _m("latency_p99_ms", "ms", "lower", "p99", "request-weighted mean of per-second p99"),
    _m("error_ratio", "ratio", "lower", "errors", "failed / achieved requests"),
    _m("load_error_pct", "%", "zero", "load error", "(offered − achieved) / offered"),
    _m("duration_s", "s", "none", "duration", "length of the measured window"),
    _m("gaps_pct", "%", "lower", "gaps", "missing samples of the core signals"),
    _m("fault_notice_s", "s", "lower", "fault noticed", "fault start → the HPA reacts"),
    _m("fault_replicas_lost", "replicas", "lower", "replicas lost", "Ready lost to faults"),
    _m("fault_recovery_s", "s", "lower", "fault recovery", "fault end → Ready ≥ demand"),
    _m("fault_slo_violation_s", "s", "lower", "fault SLO violation", "SLO seconds of faults"),
)

METRIC_INFO: dict[str, MetricInfo] = {m.name: m for m in METRICS}

KEY_METRICS: tuple[str, ...] = (
    "time_to_capacity_s",
    "detection_latency_s",
    "slo_violation_s",
    "theta_u_pct",
    "theta_o_pct",
    "upsilon_pct",
    "cost_replica_s",
    "latency_p95_ms",
)
"""The metrics of the verdict table, in column order."""

FAULT_METRICS: tuple[str, ...] = (
    "fault_notice_s",
    "fault_replicas_lost",
    "fault_recovery_s",
    "fault_slo_violation_s",
)
"""The columns measuring the reaction to spec.events (NaN in trials without faults)."""

CORE_SIGNALS = ("offered_rps", "achieved_rps", "ready_replicas", "demand_replicas")

LOAD_SHORTFALL_PCT = 10.0
"""A trial whose achieved load is this far (%) below the offered load measured another load."""


def aggregate(values: list[float]) -> float:
    """Mean over episodes: NaN ignored, ``inf`` if any episode never finished, NaN if none."""
    known = [v for v in values if not math.isnan(v)]
    if not known:
        return math.nan
    return math.inf if any(math.isinf(v) for v in known) else float(np.mean(known))


def episode_metrics(episodes: list[Episode]) -> dict[str, float]:
    """The episode columns of a summary row (means over the trial's episodes)."""
    row: dict[str, float] = {
        "episodes": float(len(episodes)),
        "detection_latency_s": aggregate([e.detection_s for e in episodes]),
        "actuation_latency_s": aggregate([e.actuation_s for e in episodes]),
        "time_to_capacity_s": aggregate([e.time_to_capacity_s for e in episodes]),
        "slo_recovery_s": aggregate([e.slo_recovery_s for e in episodes]),
    }
    for part in Waterfall.PARTS:
        row[f"wf_{part}"] = aggregate([getattr(e.waterfall, part) for e in episodes])
    return row


def trial_metrics(
    trace: Trace, *, slo: Slo, tolerance: float = 0.1, episodes: list[Episode] | None = None
) -> dict[str, float]:
    """Every metric of METRICS for one trial (units as declared there)."""
    if episodes is None:
        episodes = find_episodes(trace, slo=slo, tolerance=tolerance)
    dt = trace.dt_s
    row = episode_metrics(episodes)
    e = elasticity(
        trace.signal("demand_replicas").to_numpy(),
        trace.signal("ready_replicas").to_numpy(),
        dt_s=dt,
    )
    row.update(e.__dict__)
    scale = trace.signal("spec_replicas")
    if scale.dropna().empty:
        scale = trace.signal("ready_replicas")
    row["cost_replica_s"] = float(scale.sum() * dt) if scale.notna().any() else math.nan
    row["max_replicas"] = float(scale.max())
    row["reversals"] = float(reversals(scale.to_numpy()))
    row.update(_service_metrics(trace, slo))
    row["duration_s"] = trace.duration_s
    row["gaps_pct"] = gaps_pct(trace)
    row.update(fault_metrics(trace, slo=slo))
    return row


def fault_metrics(trace: Trace, *, slo: Slo) -> dict[str, float]:
    """The fault columns of a summary row: means of the latencies and totals of the losses
    over the trial's faults (:mod:`hpalab.analysis.faults`); NaN for a trial without faults."""
    impacts = fault_impacts(trace, slo=slo)
    if not impacts:
        return dict.fromkeys(FAULT_METRICS, math.nan)
    return {
        "fault_notice_s": aggregate([i.notice_s for i in impacts]),
        "fault_replicas_lost": float(np.nansum([i.replicas_lost for i in impacts])),
        "fault_recovery_s": aggregate([i.recovery_s for i in impacts]),
        "fault_slo_violation_s": float(np.nansum([i.slo_violation_s for i in impacts])),
    }


def reversals(scale: np.ndarray) -> int:
    """How often the scaling direction flips (up then down, or down then up)."""
    steps = np.diff(scale[~np.isnan(scale)])
    signs = np.sign(steps[steps != 0])
    return int(np.count_nonzero(np.diff(signs)))


def _service_metrics(trace: Trace, slo: Slo) -> dict[str, float]:
    offered, achieved = trace.signal("offered_rps"), trace.signal("achieved_rps")
    errors, latency = trace.signal("error_rate"), trace.signal(slo.latency_signal)
    weights = achieved.fillna(0.0).clip(lower=0.0)
    out: dict[str, float] = {}
    for p in (50, 95, 99):
        out[f"latency_p{p}_ms"] = _weighted_mean(trace.signal(f"latency_p{p}_ms"), weights)
    out["error_ratio"] = _weighted_mean(errors, weights)
    violated = (latency > slo.latency_ms) | (errors > slo.error_rate)
    out["slo_violation_s"] = (
        float(violated.sum()) * trace.dt_s if latency.notna().any() else math.nan
    )
    total = float(offered.sum())
    out["load_error_pct"] = (
        100.0 * (total - float(achieved.sum())) / total
        if total > 0 and achieved.notna().any()
        else math.nan
    )
    return out


def _weighted_mean(values: pd.Series, weights: pd.Series) -> float:
    known = values.notna()
    if not known.any():
        return math.nan
    w = weights[known]
    if float(w.sum()) <= 0:
        return float(values[known].mean())
    return float(np.average(values[known], weights=w))


def gaps_pct(trace: Trace) -> float:
    """Percentage of missing samples of the core signals during the load phase (the cool-down
    has no load to measure; a signal never recorded counts as fully missing)."""
    loaded = trace.signals.index < trace.load_end_s
    if not loaded.any():
        return 100.0
    missing = [float(trace.signal(name)[loaded].isna().mean()) for name in CORE_SIGNALS]
    return 100.0 * float(np.mean(missing))


def summarize(
    trials: pd.DataFrame,
    traces: Mapping[str, Trace],
    *,
    slo: Slo | Mapping[str, Slo],
    tolerance: float | Mapping[str, float] = 0.1,
    episodes: Mapping[str, list[Episode]] | None = None,
) -> pd.DataFrame:
    """The rows of summary.csv: trial columns of ``trials.csv`` then every metric.

    ``slo`` and ``tolerance`` may be given per variant (mapping variant → value); ``episodes``
    (trial → episodes) reuses episodes already found. A trial with no samples gets NaN metrics
    and 100 % gaps.
    """
    rows = []
    for trial in trials.itertuples(index=False):
        variant = str(trial.variant)
        trial_slo = slo[variant] if isinstance(slo, Mapping) else slo
        tol = tolerance[variant] if isinstance(tolerance, Mapping) else tolerance
        trace = traces.get(str(trial.trial_id))
        if trace is None or trace.signals.empty:
            # No sample at all: nothing to measure, and every sample is a gap.
            metrics = {m.name: math.nan for m in METRICS} | {"gaps_pct": 100.0}
        else:
            found = episodes.get(str(trial.trial_id)) if episodes is not None else None
            metrics = trial_metrics(trace, slo=trial_slo, tolerance=tol, episodes=found)
        rows.append(
            {
                "trial_id": str(trial.trial_id),
                "variant": variant,
                "repetition": trial.repetition,
                "status": str(trial.status),
                **{m.name: metrics[m.name] for m in METRICS},
            }
        )
    columns = ["trial_id", "variant", "repetition", "status", *(m.name for m in METRICS)]
    return pd.DataFrame(rows, columns=columns)
