"""Offered-load validation: did the app receive the load the profile asked for?

Every window of ``window_s`` seconds is checked: the requests that got a response (achieved)
against the arrivals the schedule placed in it. A window whose ratio is off by more than the
tolerance is a shortfall, with the most likely reason:

- ``connection_errors``: most of the missing requests got no HTTP response (refused, reset,
  timed out);
- ``generator_cpu_saturated``: a load process used ≥ 90% of a core, or its event loop lagged
  ≥ 20 ms on average (it got too little CPU), so arrivals started late or were dropped;
- ``app_overloaded``: the generator had CPU to spare but requests stayed in flight or arrivals
  were dropped because every user waited on a slow app;
- ``over_delivered``: more responses than arrivals (a burst after a stall).

Windows with too few scheduled requests to measure a ratio (a rate near 0) are not judged.
Overlapping bad windows are reported once, as a span with its worst ratio.

:func:`generator_delivered` tells the two sides apart for an experiment: when every arrival
was sent (none dropped) and every shortfall is the app answering late (``app_overloaded``,
``over_delivered``), the generator delivered the profile; the app queued it, which is what
an experiment on an overloaded app measures (latency, errors, SLO-violation seconds). Pure
code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from hpalab.load.samples import LoadSample

Reason = Literal["connection_errors", "generator_cpu_saturated", "app_overloaded", "over_delivered"]

APP_SIDE: frozenset[str] = frozenset({"app_overloaded", "over_delivered"})
"""Reasons that say the responses lagged the arrivals, not that arrivals were missing."""

CPU_SATURATED = 0.9
"""A load process at or above this many cores is saturated (gevent runs on one core)."""
LAG_SATURATED_MS = 20.0
"""A load process whose event loop lags this much is saturated, whatever its CPU figure (on a
shared machine a process may get less than a core and still be unable to keep up)."""


@dataclass(frozen=True)
class Shortfall:
    """A span of seconds where achieved and offered load differ by more than the tolerance."""

    start_s: int
    end_s: int
    """End of the span (exclusive), seconds since the profile began."""
    scheduled: int
    achieved: int
    ratio: float
    """Worst achieved/scheduled ratio of the windows in the span."""
    reason: Reason
    explanation: str

    def detail(self) -> dict[str, object]:
        """The ``load_shortfall`` event detail."""
        return {
            "window": [self.start_s, self.end_s],
            "scheduled": self.scheduled,
            "achieved": self.achieved,
            "ratio": round(self.ratio, 4),
            "reason": self.reason,
            "explanation": self.explanation,
        }


def find_shortfalls(
    samples: Sequence[LoadSample],
    *,
    tolerance: float = 0.05,
    window_s: int = 10,
    min_requests: int = 50,
) -> list[Shortfall]:
    """Spans of ``samples`` where achieved/scheduled leaves ``[1 - tolerance, 1 + tolerance]``.

    ``samples`` must be consecutive seconds. Fewer samples than ``window_s`` are judged as one
    window. A window is skipped when it schedules fewer than ``min_requests`` requests.
    """
    if not 0 < tolerance < 1 or window_s < 1:
        raise ValueError("tolerance must be in (0, 1) and window_s ≥ 1")
    width = min(window_s, len(samples))
    bad: list[tuple[int, int, float]] = []
    for start in range(len(samples) - width + 1):
        window = samples[start : start + width]
        scheduled = sum(s.scheduled for s in window)
        if scheduled < min_requests:
            continue
        ratio = sum(s.achieved_rps for s in window) / scheduled
        if abs(ratio - 1) > tolerance:
            bad.append((start, start + width, ratio))
    return [_describe(samples[a:b], worst=_worst(ratios)) for a, b, ratios in _spans(bad)]


def _spans(bad: list[tuple[int, int, float]]) -> list[tuple[int, int, list[float]]]:
    """Merge overlapping windows: ``(first index, end index, their ratios)``."""
    out: list[tuple[int, int, list[float]]] = []
    for start, end, ratio in bad:
        if out and start <= out[-1][1]:
            first, _, ratios = out[-1]
            out[-1] = (first, end, [*ratios, ratio])
        else:
            out.append((start, end, [ratio]))
    return out


def _worst(ratios: list[float]) -> float:
    return max(ratios, key=lambda r: abs(r - 1))


def _describe(window: Sequence[LoadSample], *, worst: float) -> Shortfall:
    scheduled = sum(s.scheduled for s in window)
    achieved = sum(s.achieved_rps for s in window)
    conn_errors = sum(s.conn_errors for s in window)
    dropped = sum(s.dropped for s in window)
    cpus = [s.generator_cpu for s in window if s.generator_cpu is not None]
    cpu = sum(cpus) / len(cpus) if cpus else 0.0
    lag = sum(s.loop_lag_ms for s in window) / len(window)
    p95 = max((s.latency_p95_ms or 0.0 for s in window), default=0.0)
    explanation = (
        f"{achieved} of {scheduled} scheduled requests got a response; {conn_errors} "
        f"connection errors, {dropped} arrivals dropped, generator CPU {cpu:.2f} cores, "
        f"event-loop lag {lag:.0f} ms, p95 latency up to {p95:.0f} ms"
    )
    return Shortfall(
        start_s=window[0].t_s,
        end_s=window[-1].t_s + 1,
        scheduled=scheduled,
        achieved=achieved,
        ratio=worst,
        reason=_reason(
            missing=scheduled - achieved,
            conn_errors=conn_errors,
            saturated=cpu >= CPU_SATURATED or lag >= LAG_SATURATED_MS,
        ),
        explanation=explanation,
    )


def _reason(*, missing: int, conn_errors: int, saturated: bool) -> Reason:
    if missing < 0:
        return "over_delivered"
    if conn_errors >= missing / 2:
        return "connection_errors"
    if saturated:
        return "generator_cpu_saturated"
    return "app_overloaded"


def generator_delivered(shortfalls: Sequence[Shortfall], samples: Sequence[LoadSample]) -> bool:
    """True when the generator sent every arrival of the profile and each shortfall is the app
    answering late (its queue), not load that never reached it."""
    return all(s.reason in APP_SIDE for s in shortfalls) and not any(s.dropped for s in samples)
