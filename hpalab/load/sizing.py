"""How many Locust users the open model needs: enough that an arrival never waits for one.

Each user sends one request at a time, so the users busy at once are ``rate × latency``
(Little's law). The pool is sized for the highest rate of the next seconds with twice the
recent latency, plus spares; it never shrinks during a run (a stopped user would lose the
arrival it holds) and never exceeds ``max_users``. When most users are in flight at once the
pool doubles, which covers an app that stalls before any latency is measured.
Pure code.
"""

from __future__ import annotations

import math

HEADROOM = 2.0
"""Users per request in flight at the measured latency."""
MIN_LATENCY_S = 0.02
"""Latency assumed before any is measured, and the floor of the estimate."""
SPARE_PER_WORKER = 4
BUSY_SHARE = 0.8
"""Pool share in flight at once above which the pool doubles."""


def pool_size(
    *,
    peak_rps: float,
    latency_s: float | None,
    in_flight: int,
    current: int,
    max_users: int,
    workers: int = 1,
) -> int:
    """Users for the next second.

    ``peak_rps`` is the highest offered rate of the coming seconds, ``latency_s`` the recent
    high-percentile latency (``None`` when nothing was measured yet), ``in_flight`` the most
    requests in flight at once recently, ``current`` the pool now. The result is ≥ ``current``
    and ≤ ``max_users``, and at least one user per worker.
    """
    latency = max(latency_s or 0.0, MIN_LATENCY_S)
    need = math.ceil(peak_rps * latency * HEADROOM) + SPARE_PER_WORKER * workers
    if current and in_flight >= BUSY_SHARE * current:
        need = max(need, 2 * current)
    return max(workers, min(max_users, max(current, need)))
