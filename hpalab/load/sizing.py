"""How many Locust users the open model needs: enough that an arrival never waits for one.

Each user sends one request at a time, so the users busy at once are ``rate × latency``
(Little's law, with the mean latency). The pool is sized for the highest rate of the next
seconds with twice the recent mean latency, plus spares. It never shrinks during a run (a
stopped user would lose the arrival it holds) and never exceeds ``max_users``. When most users
are in flight at once it grows, which covers an app that stalls before any latency is
measured; no step grows it by more than half. A saturated load process (CPU or event-loop lag)
gets no more users: its requests look slow because the process is busy, and more users (more
connections) would only add work. Pure code.
"""

from __future__ import annotations

import math

HEADROOM = 2.0
"""Users per request in flight at the measured latency."""
MIN_LATENCY_S = 0.002
"""Latency assumed before any is measured, and the floor of the estimate."""
SPARE_PER_WORKER = 10
BUSY_SHARE = 0.8
"""Pool share in flight at once above which the pool doubles."""
MAX_GROWTH = 1.5
"""Largest factor the pool grows by in one step: a burst of new users (each opens a
connection) stalls a busy load process."""
CPU_BUSY = 0.85
"""A load process using this many cores or more gets no more users."""
LAG_BUSY_MS = 50.0
"""A load process whose event loop lags this much gets no more users."""


def pool_size(
    *,
    peak_rps: float,
    latency_s: float | None,
    in_flight: int,
    current: int,
    max_users: int,
    workers: int = 1,
    generator_cpu: float = 0.0,
    loop_lag_ms: float = 0.0,
) -> int:
    """Users for the next second.

    ``peak_rps`` is the highest offered rate of the coming seconds, ``latency_s`` the recent
    mean latency (``None`` when nothing was measured yet), ``in_flight`` the most requests in
    flight at once recently, ``current`` the pool now, ``generator_cpu`` and ``loop_lag_ms``
    the busiest load process's recent CPU use (cores) and event-loop lag. The result is
    ≥ ``current`` and ≤ ``max_users``, and at least one user per worker.
    """
    if current and (generator_cpu >= CPU_BUSY or loop_lag_ms >= LAG_BUSY_MS):
        return current
    latency = max(latency_s or 0.0, MIN_LATENCY_S)
    need = math.ceil(peak_rps * latency * HEADROOM) + SPARE_PER_WORKER * workers
    if current and in_flight >= BUSY_SHARE * current:
        need = max(need, 2 * current)
    if current:
        need = min(need, math.ceil(current * MAX_GROWTH) + SPARE_PER_WORKER * workers)
    return max(workers, min(max_users, max(current, need)))
