"""A metrics-server equivalent: each replica's CPU usage, read from the operating system.

metrics-server reports, per pod, the CPU used over its last window (``--metric-resolution``,
15 s by default) with the window's end as the timestamp. :class:`CpuMeter` does the same from
the processes' CPU times, so the HPA can compute utilization against the CPU request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class PodCpu:
    """One pod's CPU usage, as ``kubectl top pod`` and the resource metrics API report it."""

    pod: str
    millicores: float
    """Average CPU usage over the window, in millicores (1000 = one core busy)."""
    timestamp: float
    """End of the window, wall-clock seconds."""
    window_s: float
    """Length of the window, seconds."""


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` and its children; ``None`` when it is gone."""
    try:
        times = psutil.Process(pid).cpu_times()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    return float(times.user + times.system + times.children_user + times.children_system)


class CpuMeter:
    """Samples CPU times of the replicas and reports usage over a sliding window."""

    def __init__(self, *, window_s: float = 15.0) -> None:
        if not window_s > 0:
            raise ValueError("the metrics window must be > 0 seconds")
        self.window_s = window_s
        self._samples: dict[str, deque[tuple[float, float]]] = {}
        self._pid_of: dict[str, int] = {}

    def sample(self, pids: Mapping[str, int], now: float) -> None:
        """Record the CPU time of each pod's process at ``now`` (wall-clock seconds).

        A pod whose PID changed (its container restarted) starts a new window, as cAdvisor
        starts a new container's counters; pods absent from ``pids`` are forgotten.
        """
        for pod in set(self._samples) - set(pids):
            del self._samples[pod]
            self._pid_of.pop(pod, None)
        for pod, pid in pids.items():
            cpu = process_cpu_seconds(pid)
            if cpu is None:
                continue
            self.record(pod, pid=pid, cpu_s=cpu, now=now)

    def record(self, pod: str, *, pid: int, cpu_s: float, now: float) -> None:
        """Add one sample (``cpu_s`` cumulative CPU seconds) for ``pod``."""
        if self._pid_of.get(pod) != pid:
            self._samples[pod] = deque()
            self._pid_of[pod] = pid
        samples = self._samples[pod]
        samples.append((now, cpu_s))
        # Keep one sample older than the window so the window is always fully covered.
        while len(samples) > 2 and samples[1][0] <= now - self.window_s:
            samples.popleft()

    def usage(self) -> dict[str, PodCpu]:
        """Pod → CPU usage over the last window; pods with fewer than two samples are absent
        (metrics-server also has no value for a container it has seen only once)."""
        result = {}
        for pod, samples in self._samples.items():
            if len(samples) < 2:
                continue
            (t0, c0), (t1, c1) = samples[0], samples[-1]
            if t1 <= t0:
                continue
            millicores = max(0.0, (c1 - c0) / (t1 - t0) * 1000.0)
            result[pod] = PodCpu(pod=pod, millicores=millicores, timestamp=t1, window_s=t1 - t0)
        return result
