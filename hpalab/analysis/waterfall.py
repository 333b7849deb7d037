"""The latency waterfall: detection and actuation latency split into consecutive parts.

A scale from zero is decided by KEDA's poll, not by an HPA sync: its detection is split into
the metric's lag until the activation threshold and the wait for the poll
(:func:`activation_parts`).

Detection (load step at ``t0`` → scale-up decision) is split at three instants: the first
scrape after ``t0``; the instant the metric the HPA reads first exceeds target × (1 +
tolerance); the first HPA sync from then on. With the request counter recorded in
prometheus.csv (see :mod:`hpalab.analysis.scrapes`) the first two are measured from the scrape
samples and ``rate()`` over the adapter's window, independently of the HPA's own clock. Without
it they come from the ``metric_value`` signal: the first instant it moved by a tenth of its
rise, and the first instant it crossed the threshold; where that signal is only refreshed at
HPA syncs, the sync wait then shows up inside the other two parts.

The instants are clamped in order, so the parts are non-negative and add up to the latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hpalab.analysis.traces import Trace, value_at

NAN = math.nan


@dataclass(frozen=True)
class Waterfall:
    """Detection and actuation latency split into consecutive parts, in seconds.

    The four detection parts add up to the detection latency and the two actuation parts to
    the actuation latency; a part is NaN when the data needed to place its boundary are
    missing.
    """

    scrape_wait_s: float = NAN
    """``t0`` → the metric the HPA reads first moves (a scrape landed)."""
    rate_window_s: float = NAN
    """→ the metric crosses the scale-up threshold, target × (1 + tolerance). For a KEDA
    activation: t0 → the activation query first above ``activationThreshold`` (scrape wait
    and ``rate()`` lag together; ``scrape_wait_s`` is then 0)."""
    polling_wait_s: float = NAN
    """→ the KEDA poll that activated the target (0 → 1); 0 when an HPA sync decided."""
    sync_wait_s: float = NAN
    """→ the next HPA sync."""
    hold_s: float = NAN
    """→ the scale-up decision (stabilization window or scaling policy held it)."""
    startup_s: float = NAN
    """decision → the process of the last new pod started (creation, scheduling, launch)."""
    readiness_s: float = NAN
    """→ that pod Ready (application warm-up and readiness probe)."""

    PARTS = (
        "scrape_wait_s",
        "rate_window_s",
        "polling_wait_s",
        "sync_wait_s",
        "hold_s",
        "startup_s",
        "readiness_s",
    )


def detection_parts(
    trace: Trace,
    *,
    t0: float,
    decision_at: float,
    tolerance: float,
    rate_window_s: float | None = None,
) -> dict[str, float]:
    """Scrape wait, rate() window lag, sync wait and hold (s) of one detected scale-up."""
    if not math.isfinite(decision_at):
        return {}
    marks = _metric_boundaries(trace, t0=t0, decision_at=decision_at, tolerance=tolerance)
    if trace.counters is not None and trace.counters.series and rate_window_s:
        marks = _counter_boundaries(
            trace,
            t0=t0,
            decision_at=decision_at,
            tolerance=tolerance,
            window_s=rate_window_s,
            fallback=marks,
        )
    if marks is None:
        return {}
    t_rise, t_cross = marks
    syncs = trace.events_of("hpa_decision")["t_s"]
    after = syncs[(syncs >= t_cross) & (syncs <= decision_at)]
    t_sync = float(after.iloc[0]) if not after.empty else decision_at
    t_rise = min(max(t_rise, t0), decision_at)
    t_cross = min(max(t_cross, t_rise), decision_at)
    t_sync = min(max(t_sync, t_cross), decision_at)
    return {
        "scrape_wait_s": t_rise - t0,
        "rate_window_s": t_cross - t_rise,
        "polling_wait_s": 0.0,
        "sync_wait_s": t_sync - t_cross,
        "hold_s": decision_at - t_sync,
    }


def activation_parts(*, t0: float, activated_at: float, active_since: float) -> dict[str, float]:
    """The detection parts (s) of a KEDA activation: metric lag, then the wait for the poll.

    ``active_since`` is the first instant the activation query was seen above its threshold
    (hpalab watches it every second while the target is at zero); NaN when unknown.
    """
    if not math.isfinite(activated_at):
        return {}
    if not math.isfinite(active_since):
        return {"sync_wait_s": 0.0, "hold_s": 0.0}
    seen = min(max(active_since, t0), activated_at)
    return {
        "scrape_wait_s": 0.0,
        "rate_window_s": seen - t0,
        "polling_wait_s": activated_at - seen,
        "sync_wait_s": 0.0,
        "hold_s": 0.0,
    }


def _counter_boundaries(
    trace: Trace,
    *,
    t0: float,
    decision_at: float,
    tolerance: float,
    window_s: float,
    fallback: tuple[float, float] | None,
) -> tuple[float, float] | None:
    """(first scrape after t0, first second rate() over the window exceeds the threshold).

    The crossing needs the whole window recorded; where the recording starts too late (a long
    window early in the trial), the crossing comes from ``fallback`` (the metric signal).
    """
    counters = trace.counters
    scale, target = trace.signal("spec_replicas"), trace.signal("metric_target")
    if counters is None or target.dropna().empty or scale.dropna().empty:
        return fallback
    t_rise = counters.first_scrape_after(t0)
    t = float(math.ceil(t0))
    while t <= decision_at:
        if not counters.covers(t, window_s):
            return (t_rise, fallback[1]) if fallback else None
        threshold = value_at(scale, t) * value_at(target, t) * (1.0 + tolerance)
        if counters.total_rate(t, window_s) > threshold:
            return t_rise, t
        t += 1.0
    return t_rise, decision_at


def _metric_boundaries(
    trace: Trace, *, t0: float, decision_at: float, tolerance: float
) -> tuple[float, float] | None:
    """(first tenth of the metric's rise, its threshold crossing) from ``metric_value``."""
    value, target = trace.signal("metric_value"), trace.signal("metric_target")
    span = value[(value.index > t0) & (value.index <= decision_at)].dropna()
    if span.empty or target.dropna().empty:
        return None
    base = value_at(value, t0)
    threshold = value_at(target, t0) * (1.0 + tolerance)
    over = span[span > threshold]
    t_cross = float(over.index[0]) if not over.empty else decision_at
    jump = value_at(value, t_cross) - base
    moved = span[(span.index <= t_cross) & (span - base > 0.1 * jump)] if jump > 0 else span[:0]
    t_rise = float(moved.index[0]) if not moved.empty else t_cross
    return t_rise, t_cross


def actuation_parts(decision_at: float, actuation: float, started: float) -> dict[str, float]:
    """Start-up and readiness (s): decision → last new pod's process start → it is Ready."""
    if not (math.isfinite(decision_at) and math.isfinite(actuation) and math.isfinite(started)):
        return {}
    started = min(max(started, decision_at), decision_at + actuation)
    return {"startup_s": started - decision_at, "readiness_s": decision_at + actuation - started}
