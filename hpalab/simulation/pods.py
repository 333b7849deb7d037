"""Replicas in virtual time: creation, process start, readiness, termination and deletion.

A pod is created when the HPA raises the scale; its process starts and it turns Ready after
the start-up model of :mod:`hpalab.simulation.calibration`. Ready pods that are not
terminating receive traffic (round robin, like the front door). Scaling down picks pods as a
ReplicaSet does, stops sending them traffic at once, and deletes each when its last accepted
request is done. Pure code.
"""

from __future__ import annotations

import bisect
import heapq
from dataclasses import dataclass, field

from hpalab.autoscaling.hpa import Container, Pod
from hpalab.simulation.queueing import ReplicaQueue

CONTAINER = "sample-app"


@dataclass(slots=True)
class SimPod:
    """One replica and the request counter its /metrics page shows."""

    name: str
    created_s: float
    started_s: float
    ready_s: float
    queue: ReplicaQueue
    scrape_offset_s: float
    """First scrape after the process started, seconds."""
    monotone: bool = True
    """Completions arrive in time order (constant service): a sorted list, else a heap."""
    pending: list[float] = field(default_factory=list)
    """Completion times of accepted requests not yet counted."""
    counted: int = 0
    """Index into ``pending`` up to which completions are counted (monotone case)."""
    ok: int = 0
    """http_requests_total{status="200"} so far (as of the last count)."""
    refused: int = 0
    """http_requests_total{status="503"}: refused because the queue was full."""
    terminating_s: float | None = None
    deleted_s: float | None = None
    scraped_total: float | None = None
    """The counter summed over statuses at the last scrape; None before the first."""
    marks: list[tuple[float, int]] = field(default_factory=list)
    """(t_s, ok) at each count, for CPU usage over a window."""

    def complete(self, done: list[float]) -> None:
        """Remember accepted requests completing at the times ``done``."""
        if self.monotone:
            self.pending.extend(done)
        else:
            for done_s in done:
                heapq.heappush(self.pending, done_s)

    def count_until(self, t_s: float) -> int:
        """Count the completions up to ``t_s`` into ``ok`` and return it."""
        if self.monotone:
            upto = bisect.bisect_right(self.pending, t_s, lo=self.counted)
            self.ok += upto - self.counted
            self.counted = upto
            if upto > 4096:  # drop what is counted, so the list stays short
                del self.pending[:upto]
                self.counted = 0
        else:
            while self.pending and self.pending[0] <= t_s:
                heapq.heappop(self.pending)
                self.ok += 1
        self.marks.append((t_s, self.ok))
        return self.ok

    def is_ready(self, t_s: float) -> bool:
        return self.ready_s <= t_s and self.deleted_s is None

    def hpa_view(self, t_s: float, *, cpu_request_milli: int) -> Pod:
        """The pod as the HPA controller lists it at ``t_s``."""
        ready = self.is_ready(t_s)
        return Pod(
            name=self.name,
            phase="Running" if t_s >= self.started_s else "Pending",
            ready="True" if ready else "False",
            ready_transition_s=self.ready_s if ready else self.created_s,
            start_s=self.created_s,
            deleted=self.terminating_s is not None,
            containers=(Container(CONTAINER, {"cpu": cpu_request_milli}),),
        )


def removal_order(pods: list[SimPod], t_s: float) -> list[SimPod]:
    """Pods in the order a ReplicaSet deletes them: not running, unready, Ready for the
    shortest time, newest first (as ``hpalab.platforms.local`` ranks its replicas)."""

    def rank(pod: SimPod) -> tuple[bool, bool, float, float]:
        ready = pod.is_ready(t_s)
        return (t_s >= pod.started_s, ready, -(pod.ready_s if ready else 0.0), -pod.created_s)

    return sorted(pods, key=rank)
