"""Faults injected into a running replica through a small JSON file the platform rewrites.

A file, not an HTTP endpoint: the load reaches every route of the app through the front
door, and a fault switch must not be one of them. The file holds any of ``latency_s``,
``cpu_s`` (extra per ``GET /``) and ``metrics_delay_s`` (extra wait before ``/metrics``
answers, so a scrape is slow or times out). It is checked at most every ``check_s`` seconds,
so a request costs one clock read while nothing changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

CHECK_S = 0.2


@dataclass(frozen=True, slots=True)
class Slowdown:
    """The extra cost of requests and scrapes while faults are active (seconds)."""

    latency_s: float = 0.0
    cpu_s: float = 0.0
    metrics_delay_s: float = 0.0


NONE = Slowdown()


def read_slowdown(path: Path) -> Slowdown:
    """The slowdown in ``path``; none when the file is missing or not a valid object (a
    half-written file is never seen: the platform replaces it atomically)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return NONE
    if not isinstance(data, dict):
        return NONE
    values = {}
    for name in ("latency_s", "cpu_s", "metrics_delay_s"):
        value = data.get(name, 0.0)
        values[name] = float(value) if isinstance(value, int | float) and value > 0 else 0.0
    return Slowdown(**values)


class FaultFile:
    """The current :class:`Slowdown` of one fault file, re-read when it changes."""

    def __init__(
        self, path: Path, *, clock: Callable[[], float] = time.monotonic, check_s: float = CHECK_S
    ) -> None:
        self.path = path
        self.clock = clock
        self.check_s = check_s
        self._checked_at = float("-inf")
        self._stamp: tuple[int, int] | None = None
        self._current = NONE

    def current(self) -> Slowdown:
        now = self.clock()
        if now - self._checked_at < self.check_s:
            return self._current
        self._checked_at = now
        try:
            stat = self.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
        except OSError:
            self._stamp, self._current = None, NONE
            return NONE
        if stamp != self._stamp:
            self._stamp, self._current = stamp, read_slowdown(self.path)
        return self._current
