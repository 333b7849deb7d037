"""The seams the run orchestration is wired through: a platform, a load session, a clock.

The orchestration depends on these small interfaces only, so that it can be tested in virtual
time with fakes at exactly these places, and run for real with the local or kubernetes
platform and the Locust driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hpalab.platforms.base import Platform
from hpalab.specs import LoadedExperiment
from hpalab.specs.experiment import LoadSettings
from hpalab.specs.profiles import ProfileSpec


@dataclass(frozen=True, slots=True)
class LoadSample:
    """One second of load measurements."""

    t_s: float
    """Seconds since the load session began (warm-up included)."""
    offered_rps: float
    achieved_rps: float
    users: float
    failures: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None

    @property
    def error_rate(self) -> float:
        total = self.achieved_rps + self.failures
        return self.failures / total if total > 0 else 0.0


class LoadSession(Protocol):
    """A running load generator."""

    def poll(self) -> list[LoadSample]:
        """Samples completed since the previous call, oldest first."""

    def failure(self) -> str | None:
        """Why the generator died (its stderr), or ``None`` while it is healthy."""

    def stop(self) -> None:
        """Stop the generator and every process it started; safe to call twice."""


class LoadStarter(Protocol):
    """Starts a load session for one trial."""

    def __call__(
        self,
        *,
        url: str,
        profile: ProfileSpec,
        load: LoadSettings,
        seed: int,
        work_dir: Path,
    ) -> LoadSession: ...


PlatformFactory = Callable[[LoadedExperiment], Platform]


class Clock(Protocol):
    """Wall-clock time and sleeping; a virtual clock in tests."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)
