"""The delays and rates the simulator takes from a real run, and the defaults without one.

:class:`Calibration` is plain data. :func:`fit` derives it from one run's tables (pandas, no
I/O): every value is measured, none is tuned to make the simulation agree with the run.

- **start-up to Ready**: the empirical distribution of ``pod_ready − pod_created`` over every
  pod the HPA created (the initial replica, which existed before the trial, is left out);
- **capacity and service time**: in saturated seconds (errors above 5 %: every slot busy and
  the queue full) a replica serves its capacity, so capacity = successful responses/s per
  Ready replica (median over those seconds), and service time = concurrency / capacity;
  without saturated seconds, the app's configured cpuPerRequest + latency;
- **client overhead**: what the load generator and front door add to the app's own time:
  the median latency at low load (the first seconds of each trial) minus the service time
  (never below 0);
- **sync phase**: the first HPA sync of each trial relative to the load start, modulo the
  sync period (an empirical distribution);
- **kubelet status delay** (kubernetes): ``pod_ready`` events lag the readiness probe by the
  kubelet's status update; it is part of the start-up distribution above, and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hpalab.analysis.traces import parse_detail

DEFAULT_START_OVERHEAD_S = 0.4
"""Creation to process start without calibration (fork, Python start-up, bind)."""
DEFAULT_CLIENT_OVERHEAD_S = 0.002
"""What the load generator and front door add to a request without calibration."""
LOW_LOAD_SECONDS = 10
"""Seconds at the start of each trial's load phase taken as low load."""


@dataclass(frozen=True)
class Calibration:
    """What the simulator assumes about the platform (seconds unless stated)."""

    source: str = "defaults"
    """Where it came from: a run directory's name, or "defaults"."""
    platform: str = "local"
    startup_s: tuple[float, ...] = ()
    """Empirical creation-to-Ready durations; empty: start overhead + probe model."""
    start_overhead_s: float = DEFAULT_START_OVERHEAD_S
    """Creation to process start, for the probe model."""
    service_factor: float = 1.0
    """Measured service time ÷ the calibrating run's configured cpuPerRequest + latency; the
    simulated service time is the experiment's configured one times this factor."""
    client_overhead_s: float = DEFAULT_CLIENT_OVERHEAD_S
    """Added to every response time as the client sees it."""
    sync_phase: tuple[float, ...] = ()
    """Empirical phases (fractions of the sync period) of the first sync; empty: uniform."""
    kubelet_delay_s: float = 0.0
    """Median readiness-probe-to-Ready-event lag (kubernetes); informational."""
    notes: dict[str, str] = field(default_factory=dict)
    """What was fitted, for people: name → value with unit and sample size."""

    def describe(self) -> list[str]:
        """One line per fitted quantity."""
        return [f"{name}: {value}" for name, value in self.notes.items()]


def fit(
    *,
    events: pd.DataFrame,
    timeseries: pd.DataFrame,
    source: str,
    platform: str,
    sync_period_s: float,
    app_service_s: float,
    concurrency: int | None,
) -> Calibration:
    """A calibration from one run's events.csv and timeseries.csv rows.

    ``app_service_s`` is the app's configured cpuPerRequest + latency (the run's own spec).
    """
    startup = _startup_durations(events)
    phases = _sync_phases(events, sync_period_s)
    capacity, saturated = _saturated_capacity(timeseries)
    service = app_service_s
    if concurrency and capacity is not None:
        service = concurrency / capacity
    low = _low_load_latency_s(timeseries)
    overhead = DEFAULT_CLIENT_OVERHEAD_S if low is None else max(0.0, low - service)
    notes = {
        "start-up to Ready": _spread(startup, "s"),
        "first sync phase": _spread(phases, "of the sync period"),
        "service time": f"{service * 1000:.1f} ms per request"
        + (" (from capacity)" if capacity is not None and concurrency else " (spec.app)"),
        "client overhead": f"{overhead * 1000:.1f} ms (median low-load latency "
        f"{'n/a' if low is None else f'{low * 1000:.1f} ms'} − service time)",
    }
    if concurrency:
        notes["capacity"] = f"{concurrency / service:.2f} requests/s per replica" + (
            f" (median of {saturated} saturated seconds)" if capacity is not None else ""
        )
    delay = _kubelet_delay(events) if platform == "kubernetes" else 0.0
    if platform == "kubernetes":
        notes["kubelet status delay"] = f"{delay:.2f} s (median)"
    return Calibration(
        source=source,
        platform=platform,
        startup_s=tuple(startup),
        service_factor=service / app_service_s if app_service_s > 0 else 1.0,
        client_overhead_s=overhead,
        sync_phase=tuple(phases),
        kubelet_delay_s=delay,
        notes=notes,
    )


def _spread(values: list[float], unit: str) -> str:
    if not values:
        return "no samples (model default)"
    q = np.quantile(values, [0.0, 0.5, 1.0])
    return f"median {q[1]:.2f} {unit}, range {q[0]:.2f}–{q[2]:.2f} (n = {len(values)})"


def _startup_durations(events: pd.DataFrame) -> list[float]:
    created = events[events["kind"] == "pod_created"]
    ready = events[events["kind"] == "pod_ready"]
    first_ready: dict[str, float] = {}
    for key, t in zip(_pod_keys(ready), ready["t_s"].astype(float), strict=True):
        first_ready.setdefault(key, t)
    out = []
    for key, t in zip(_pod_keys(created), created["t_s"].astype(float), strict=True):
        if key in first_ready and first_ready[key] >= t:
            out.append(round(first_ready[key] - t, 4))
    return sorted(out)


def _pod_keys(frame: pd.DataFrame) -> list[str]:
    return [f"{trial}/{obj}" for trial, obj in zip(frame["trial_id"], frame["object"], strict=True)]


def _sync_phases(events: pd.DataFrame, period_s: float) -> list[float]:
    """The first sync's phase of each trial whose load was not aligned to the sync cycle (an
    aligned trial's phase is the one it planned, ``phases.syncPhase``, not a fact to learn)."""
    aligned = {
        trial
        for trial, kind, detail in zip(
            events["trial_id"], events["kind"], events["detail"], strict=True
        )
        if kind == "phase" and "hpa_sync_offset_s" in parse_detail(detail)
    }
    decisions = events[(events["kind"] == "hpa_decision") & ~events["trial_id"].isin(aligned)]
    out = []
    for _, rows in decisions.groupby("trial_id", sort=False):
        first = float(rows["t_s"].astype(float).min())
        out.append(round((first / period_s) % 1.0, 4))
    return sorted(out)


SATURATED_ERROR_RATE = 0.05
"""Error ratio above which a second counts as saturated (queues full, refusals)."""
MIN_SATURATED_SECONDS = 5


def _saturated_capacity(timeseries: pd.DataFrame) -> tuple[float | None, int]:
    """(successful responses/s per Ready replica in saturated seconds, how many seconds)."""
    wanted = timeseries[timeseries["signal"].isin(("achieved_rps", "error_rate", "ready_replicas"))]
    wide = wanted.pivot_table(
        index=["trial_id", "t_s"], columns="signal", values="value", aggfunc="last"
    )
    if not {"achieved_rps", "error_rate", "ready_replicas"} <= set(wide.columns):
        return None, 0
    hot = wide[(wide["error_rate"] > SATURATED_ERROR_RATE) & (wide["ready_replicas"] > 0)]
    if len(hot) < MIN_SATURATED_SECONDS:
        return None, len(hot)
    per_replica = hot["achieved_rps"] * (1.0 - hot["error_rate"]) / hot["ready_replicas"]
    return float(per_replica.median()), len(hot)


def _low_load_latency_s(timeseries: pd.DataFrame) -> float | None:
    p50 = timeseries[timeseries["signal"] == "latency_p50_ms"]
    early = p50[(p50["t_s"] >= 0) & (p50["t_s"] < LOW_LOAD_SECONDS)]["value"].astype(float)
    early = early[early.notna()]
    if early.empty:
        return None
    return float(early.median()) / 1000.0


def _kubelet_delay(events: pd.DataFrame) -> float:
    started = events[events["kind"] == "pod_started"]
    ready = events[events["kind"] == "pod_ready"]
    if started.empty or ready.empty:
        return 0.0
    begun = dict(zip(_pod_keys(started), started["t_s"].astype(float), strict=True))
    lags = [
        t - begun[key]
        for key, t in zip(_pod_keys(ready), ready["t_s"].astype(float), strict=True)
        if key in begun and t >= begun[key]
    ]
    return float(np.median(lags)) if lags else 0.0


def startup_sample(
    calibration: Calibration,
    *,
    u: float,
    startup_delay_s: float,
    probe_period_s: float,
    success_threshold: int,
    phase: float,
) -> tuple[float, float]:
    """``(process start, Ready)`` seconds after creation for one pod.

    With an empirical distribution, Ready is its ``u``-quantile (``u`` uniform in [0, 1)) and
    the process starts after the start overhead. Otherwise the kubelet's probe model: probes
    every period from process start (first at ``phase`` × period), Ready at the
    ``success_threshold``-th consecutive success after the start-up delay.
    """
    started = calibration.start_overhead_s
    if calibration.startup_s:
        ready = calibration.startup_s[
            min(int(u * len(calibration.startup_s)), -1 + len(calibration.startup_s))
        ]
        return min(started, ready), ready
    first = phase * probe_period_s
    passing = max(0.0, startup_delay_s - first)
    probes = math.ceil(passing / probe_period_s - 1e-9)
    ready = started + first + (probes + success_threshold - 1) * probe_period_s
    return started, ready
