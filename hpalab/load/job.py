"""A load job: everything the Locust processes need, built from a spec, passed as JSON.

The main process builds a :class:`LoadJob` from a LoadProfile or an experiment, writes it to a
file, and the Locust processes read it back (``HPALAB_LOAD_JOB``). Nothing here imports Locust.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from hpalab.errors import UsageError
from hpalab.specs.loader import LoadedExperiment
from hpalab.specs.loadsettings import Endpoint, LoadSettings
from hpalab.specs.profiles import (
    AnyStage,
    HoldStage,
    LevelStage,
    LoadProfile,
    ProfileSpec,
    RampStage,
    RateCurve,
    Segment,
    TraceStage,
    compile_profile,
)

JOB_ENV = "HPALAB_LOAD_JOB"
"""Environment variable with the path of the job file, read by the Locust processes."""
WORKER_ENV = "HPALAB_LOAD_WORKER"
"""Environment variable with the index of a load process among ``worker_count``."""
TARGET_ENV = "HPALAB_TARGET_URL"
"""Environment variable that, when set, replaces the job's ``url`` (in-cluster load reaches the
app by its Service name, not by the address the user's machine uses)."""

DEFAULT_SEED = 1
USERS_PER_WORKER = 1000
"""Default cap of the user pool per load process (each user holds one connection)."""


@dataclass(frozen=True)
class LoadJob:
    """What to send, where, and how fast."""

    url: str
    """Base URL of the target, ``http(s)://host[:port]``; endpoint paths are appended."""
    profile: ProfileSpec
    endpoints: tuple[Endpoint, ...] = (Endpoint(),)
    seed: int = DEFAULT_SEED
    """Seed of Poisson arrivals (the profile's own seed wins when it sets one)."""
    workers: int = 0
    """0: one Locust process; N ≥ 1: a master and N worker processes."""
    timeout_s: float = 10.0
    """Request timeout (connect and read); a timed-out request is a failure."""
    tolerance: float = 0.05
    """Allowed achieved/offered deviation over any 10 s window."""
    max_users: int | None = None
    """Cap of the user pool; default 1000 per load process."""
    max_lateness_s: float = 1.0
    """An arrival not started within this delay of its due time is dropped and counted."""
    report_port: int = 0
    """Port on 127.0.0.1 where the driver collects the per-second records (set by it); 0 when
    no driver listens (in-cluster load): each process then writes them to its standard output,
    one JSON line each, where ``kubectl logs`` reads them."""
    model: str = "open"
    """``open``: the profile gives arrivals/s; ``closed``: it gives users, who each run a task,
    wait for it, then think."""
    think_time_s: float | None = None
    """Closed model: seconds between a user's tasks; ``None``: the locustfile's wait_time."""
    locustfile: str | None = None
    """Absolute path of the user's locustfile; ``None``: requests to ``endpoints``."""
    user_class: str | None = None
    """The locustfile's User class; ``None``: its only one."""
    t0_grid: tuple[float, float] | None = None
    """``(t, period)``: the profile starts at the first ``t + k * period`` (epoch s) Locust
    can make; ``None``: as soon as it can. A trial uses it to start at a chosen phase of the
    HPA's sync cycle."""

    @property
    def worker_count(self) -> int:
        """Processes that send requests: the workers, or the single process."""
        return max(1, self.workers)

    @property
    def user_cap(self) -> int:
        return self.max_users or USERS_PER_WORKER * self.worker_count

    @property
    def arrival_seed(self) -> int:
        seed = self.profile.arrivals.seed
        return self.seed if seed is None else seed

    def curve(self) -> RateCurve:
        return compile_profile(self.profile.stages)

    def with_duration(self, duration_s: float) -> LoadJob:
        """The job cut to ``duration_s`` seconds, or its last rate held until then."""
        if not duration_s > 0:
            raise UsageError("the duration must be > 0", hint="pass e.g. --duration 30s")
        curve = self.curve()
        if duration_s > curve.duration_s:
            extra = HoldStage(type="hold", duration=duration_s - curve.duration_s)
            stages = [*self.profile.stages, extra]
        else:
            stages = []
            for stage, segment in zip(self.profile.stages, curve.segments, strict=True):
                if segment.start_s >= duration_s:
                    break
                if segment.end_s > duration_s:
                    length, rate = duration_s - segment.start_s, curve.rate_at(duration_s)
                    stages.append(_shortened(stage, segment, length, rate))
                else:
                    stages.append(stage)
        return replace(self, profile=self.profile.model_copy(update={"stages": stages}))

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "url": self.url,
            "profile": json.loads(self.profile.model_dump_json(by_alias=True)),
            "endpoints": [e.model_dump(mode="json") for e in self.endpoints],
            "seed": self.seed,
            "workers": self.workers,
            "timeout_s": self.timeout_s,
            "tolerance": self.tolerance,
            "max_users": self.max_users,
            "max_lateness_s": self.max_lateness_s,
            "report_port": self.report_port,
            "model": self.model,
            "think_time_s": self.think_time_s,
            "locustfile": self.locustfile,
            "user_class": self.user_class,
            "t0_grid": self.t0_grid,
        }
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> LoadJob:
        data = json.loads(text)
        data["profile"] = ProfileSpec.model_validate_json(json.dumps(data["profile"]))
        data["endpoints"] = tuple(Endpoint.model_validate(e) for e in data["endpoints"])
        grid = data.get("t0_grid")
        data["t0_grid"] = None if grid is None else (float(grid[0]), float(grid[1]))
        return cls(**data)

    @classmethod
    def read(cls, path: Path) -> LoadJob:
        return cls.from_json(path.read_text(encoding="utf-8"))


def profile_start(earliest: float, grid: tuple[float, float] | None) -> float:
    """When the profile starts: ``earliest``, or the first instant ``t + k * period`` of
    ``grid`` at or after it."""
    if grid is None:
        return earliest
    at, period = grid
    return at + math.ceil((earliest - at) / period) * period


def _shortened(stage: AnyStage, segment: Segment, length_s: float, rate: float) -> AnyStage:
    """A copy of ``stage`` lasting ``length_s`` with the same rate until then."""
    if isinstance(stage, TraceStage):
        points = [p for p in stage.points if p[0] * stage.time_scale <= length_s]
        if points[-1][0] * stage.time_scale < length_s:
            points.append((length_s / stage.time_scale, rate / stage.rate_scale))
        return stage.model_copy(update={"points": points})
    if isinstance(stage, RampStage):
        share = length_s / (segment.end_s - segment.start_s)
        to = segment.start_rps + (segment.end_rps - segment.start_rps) * share
        return stage.model_copy(update={"duration": length_s, "from_": segment.start_rps, "to": to})
    return stage.model_copy(update={"duration": length_s})


def check_url(url: str) -> str:
    """``url`` without a trailing slash, or a UsageError when it is not http(s)://host."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ of an IPv6 address
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"not an http(s) URL: {url!r}",
            hint="pass the app's base URL, e.g. --url http://127.0.0.1:8080",
        )
    try:
        port = parts.port
    except ValueError:  # urllib refuses ports outside 0-65535 only when asked for them
        port = 0
    if port == 0:
        raise UsageError(
            f"the URL's port is not a TCP port: {url!r}",
            hint="use a port from 1 to 65535, e.g. --url http://127.0.0.1:8080",
        )
    if parts.path not in ("", "/") or parts.query:
        raise UsageError(
            f"the URL must be a base URL without a path: {url!r}",
            hint="endpoint paths come from the experiment's spec.load.endpoints",
        )
    return url.rstrip("/")


def job_from_profile(profile: LoadProfile | ProfileSpec, *, url: str, **options: Any) -> LoadJob:
    """A job sending ``GET /`` at the profile's rate; ``options`` are other LoadJob fields."""
    spec = profile.spec if isinstance(profile, LoadProfile) else profile
    if any(isinstance(stage, LevelStage) and stage.in_users for stage in spec.stages):
        raise UsageError(
            "the profile's stages give users (the closed model), but a LoadProfile alone runs "
            "in the open model",
            hint="write rps: instead of users:, or use an experiment with spec.load.model: closed",
        )
    return LoadJob(url=check_url(url), profile=spec, **options)


def job_from_experiment(
    loaded: LoadedExperiment, *, url: str, variant: str | None = None, **options: Any
) -> LoadJob:
    """The job of an experiment (or one of its variants): endpoints, timeout, workers, seed."""
    spec = loaded.variant(variant).spec if variant else loaded.experiment.spec
    return job_for_load(
        spec.load,
        url=url,
        profile=loaded.profile,
        seed=spec.seed,
        **options,
    )


def job_for_load(
    load: LoadSettings,
    *,
    url: str,
    profile: ProfileSpec,
    seed: int,
    **options: Any,
) -> LoadJob:
    """The job of ``spec.load`` at ``url`` with ``profile`` (the loader made the locustfile's
    path absolute)."""
    locustfile = None if load.locustfile is None else str(Path(load.locustfile).absolute())
    settings: dict[str, Any] = {
        "endpoints": tuple(load.endpoints),
        "seed": seed,
        "workers": load.workers,
        "timeout_s": load.timeout,
        "tolerance": load.shortfall_tolerance,
        "model": load.model,
        "think_time_s": load.think_time,
        "locustfile": locustfile,
        "user_class": load.user_class,
    }
    settings.update(options)
    return LoadJob(url=check_url(url), profile=profile, **settings)
