"""The seams the run orchestration is wired through: a platform, a load session, a clock.

The orchestration depends on these small interfaces only, so that it can be tested in virtual
time with fakes at exactly these places, and run for real with the local or kubernetes
platform and the Locust driver.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hpalab.platforms.base import Platform
from hpalab.specs import LoadedExperiment
from hpalab.specs.loadsettings import LoadSettings
from hpalab.specs.profiles import ProfileSpec


class LoadSample(Protocol):
    """One second of load measurements."""

    @property
    def t_s(self) -> int:
        """Seconds since the load session began (warm-up included)."""

    def signals(self) -> dict[str, float]:
        """Timeseries signals of this second: offered_rps, achieved_rps, users, error_rate,
        latency percentiles (missing ones left out), and any extras the generator measures."""


@dataclass(frozen=True, slots=True)
class LoadEventRow:
    """An event the load generator reports: a fault, a shortfall."""

    t_s: float
    """Seconds since the load session began."""
    kind: str
    object: str
    detail: str


class LoadSession(Protocol):
    """A running load generator."""

    def poll(self) -> Sequence[LoadSample]:
        """Samples completed since the previous call, oldest first."""

    def failure(self) -> str | None:
        """Why the generator died (its stderr), or ``None`` while it is healthy."""

    def stop(self) -> None:
        """Stop the generator and every process it started; safe to call twice."""

    # Optionally ``started_at() -> float | None``: the wall-clock time of load second 0 once
    # the generator has fixed it (the trial's clock counts from then).

    def result(self) -> tuple[str, list[LoadEventRow]]:
        """After :meth:`stop`: the session's status (``complete``, ``load_shortfall``,
        ``failed``, ``incomplete``) and its events."""


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """The load of one trial."""

    url: str
    profile: ProfileSpec
    """The profile with the warm-up as its first stage."""
    load: LoadSettings
    seed: int
    work_dir: Path
    t0_grid: tuple[float, float] | None = None
    """``(t, period)``: the profile must start at one of the instants ``t + k * period``, the
    first the generator can make; ``None``: as soon as it can."""


class LoadStarter(Protocol):
    """Starts a load session for one trial."""

    def __call__(self, request: LoadRequest) -> LoadSession: ...


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
