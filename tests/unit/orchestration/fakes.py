"""Fakes at the orchestration's own seams: platform, load session, clock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from hpalab.orchestration.seams import LoadEventRow
from hpalab.platforms.base import Platform, PlatformEvent, Snapshot


class VirtualClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start
        self.on_sleep: list[Any] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)
        for hook in list(self.on_sleep):
            hook(self.t)


class FakePlatform(Platform):
    """Replicas follow demand with a delay; every change is an event."""

    name = "fake"

    def __init__(
        self, clock: VirtualClock, *, capacity: float = 10.0, fail_apply: set[str] = frozenset()
    ) -> None:
        self.clock = clock
        self.capacity = capacity
        self.fail_apply = fail_apply
        self.replicas = 1
        self.events: list[PlatformEvent] = []
        self.started = self.stopped = 0
        self.offered = 0.0
        self.applied: list[str] = []
        self.hang_reset = False
        self.hang_start = False
        self.interrupted = False
        self.anchor: tuple[float, float] | None = None

    def interrupt(self) -> None:
        self.interrupted = True

    def sync_anchor(self) -> tuple[float, float] | None:
        return self.anchor

    def start(self) -> None:
        self.started += 1
        if self.hang_start:
            self.hang_reset = True
            self.reset()

    def stop(self) -> None:
        self.stopped += 1

    def apply_variant(self, spec: Any) -> None:
        from hpalab.errors import PlatformError

        target = spec.hpa.metrics[0].pods.target.average_value
        self.applied.append(target)
        if target in self.fail_apply:
            raise PlatformError("the adapter did not roll out", hint="look at its logs")

    def reset(self) -> None:
        if self.hang_reset:  # like replicas that never get Ready: only an interrupt ends it
            import signal

            signal.raise_signal(signal.SIGINT)
            if not self.interrupted:
                raise AssertionError("the runner did not interrupt the platform")
            from hpalab.errors import PlatformError

            raise PlatformError("interrupted while waiting for the replicas to be Ready")
        self.replicas = 1
        self.events.append(PlatformEvent(self.clock.now(), "pod_created", "sample-app-reset"))

    @property
    def load_url(self) -> str:
        return "http://127.0.0.1:1"

    @property
    def prometheus_url(self) -> str:
        return "http://127.0.0.1:1"

    def observe(self) -> Snapshot:
        want = max(1, math.ceil(self.offered / self.capacity))
        if want > self.replicas:
            self.replicas += 1
            self.events.append(
                PlatformEvent(
                    self.clock.now(),
                    "hpa_rescale",
                    "hpa/sample-app",
                    {"old": self.replicas - 1, "new": self.replicas},
                )
            )
        return Snapshot(
            t=self.clock.now(),
            spec_replicas=self.replicas,
            desired_replicas=want,
            ready_replicas=self.replicas,
            metric_value=self.offered / self.replicas,
            metric_target=self.capacity,
        )

    def drain_events(self) -> list[PlatformEvent]:
        out, self.events = self.events, []
        return out

    def fingerprint(self) -> dict[str, Any]:
        return {"fake": True}


@dataclass(frozen=True)
class Sample:
    t_s: int
    rate: float

    def signals(self) -> dict[str, float]:
        return {
            "offered_rps": self.rate,
            "achieved_rps": self.rate,
            "users": self.rate / 10,
            "error_rate": 0.0,
            "latency_p50_ms": 10.0,
            "latency_p95_ms": 20.0,
            "latency_p99_ms": 30.0,
        }


class FakeLoad:
    """Delivers exactly the profile's rate; can crash at a given second."""

    def __init__(
        self,
        clock: VirtualClock,
        platform: FakePlatform,
        curve: Any,
        *,
        crash_at: float | None = None,
    ) -> None:
        self.clock, self.platform, self.curve = clock, platform, curve
        self.t0 = clock.now()
        self.emitted = 0
        self.crash_at = crash_at
        self.stopped = False

    def poll(self) -> list[Sample]:
        out = []
        while self.t0 + self.emitted + 1 <= self.clock.now():
            rate = self.curve.rate_at(self.emitted + 0.5)
            self.platform.offered = rate
            out.append(Sample(self.emitted, rate))
            self.emitted += 1
        return out

    def failure(self) -> str | None:
        if self.crash_at is not None and self.clock.now() - self.t0 >= self.crash_at:
            return "Traceback: worker died"
        return None

    def stop(self) -> None:
        self.stopped = True

    def result(self) -> tuple[str, list[LoadEventRow]]:
        if self.failure():
            return "failed", [LoadEventRow(self.crash_at, "fault", "load", "worker died")]
        return "complete", []
