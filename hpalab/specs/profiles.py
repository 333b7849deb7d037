"""Load profiles: the offered request rate over time, as a list of stages.

Every stage is in requests per second (in the closed model, hold, step and spike give
``users`` instead of ``rps``, and every level is a number of users). A stage that leaves its
starting rate out starts where the previous stage ended (0 for the first stage).
:func:`compile_profile` turns the stages into a :class:`RateCurve`, the one function of time
every part of hpalab agrees on: the load driver paces arrivals by it, ``hpalab validate``
charts it, the analysis finds load steps in it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from hpalab.specs.base import Header, SpecModel
from hpalab.specs.units import Duration

Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class TimedStage(SpecModel):
    """A stage with a ``duration``: it must last, or it would silently vanish from the curve."""

    @field_validator("duration", check_fields=False)
    @classmethod
    def _lasts(cls, value: float) -> float:
        if value <= 0:
            raise ValueError(
                "must be > 0: a stage that lasts 0 s would be dropped from the profile"
            )
        return value


class LevelStage(TimedStage):
    """A stage that sets a level: ``rps`` (requests/s) or, in the closed model, ``users``.

    ``users: N`` is read as the level N (the field stays ``rps`` for the code that computes
    the curve) and written back as ``users``; :attr:`in_users` says which was written.
    """

    _in_users: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _users_or_rps(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        in_users = isinstance(data, dict) and "users" in data
        if in_users:
            if "rps" in data:
                raise ValueError("give rps (open model) or users (closed model), not both")
            data = {("rps" if key == "users" else key): value for key, value in data.items()}
        stage = handler(data)
        stage._in_users = in_users or getattr(stage, "_in_users", False)
        return stage

    @model_serializer(mode="wrap")
    def _written_as(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self._in_users and isinstance(data, dict) and "rps" in data:
            data["users"] = data.pop("rps")
        return data

    @property
    def in_users(self) -> bool:
        """True when the level was written as ``users`` (the closed model)."""
        return self._in_users


class HoldStage(LevelStage):
    """Keep a constant rate."""

    type: Literal["hold"] = Field(description="hold")
    duration: Duration = Field(description="how long the stage lasts")
    rps: Rate | None = Field(None, description="rate in requests/s; default: the previous rate")


class RampStage(TimedStage):
    """Change the rate linearly."""

    type: Literal["ramp"] = Field(description="ramp")
    duration: Duration = Field(description="how long the ramp takes")
    to: Rate = Field(description="rate at the end of the ramp, requests/s")
    from_: Rate | None = Field(
        None, alias="from", description="rate at the start, requests/s; default: the previous rate"
    )


class StepStage(LevelStage):
    """Jump to a rate at once and hold it."""

    type: Literal["step"] = Field(description="step")
    duration: Duration = Field(description="how long the new rate is held")
    rps: Rate = Field(description="the new rate, requests/s")


class SpikeStage(LevelStage):
    """Jump to a peak, hold it briefly, fall back to the previous rate for the rest."""

    type: Literal["spike"] = Field(description="spike")
    duration: Duration = Field(description="length of the whole stage, peak included")
    rps: Rate = Field(description="peak rate, requests/s")
    peak_duration: Duration = Field(
        10.0, description="how long the peak lasts; the rest of the stage is at the base rate"
    )
    base: Rate | None = Field(None, description="rate around the peak; default: previous rate")

    @field_validator("peak_duration")
    @classmethod
    def _peak_fits(cls, value: float, info: ValidationInfo) -> float:
        if value <= 0:
            raise ValueError("must be > 0: a peak of 0 s sends no peak at all")
        duration = info.data.get("duration")
        if duration is not None and value > duration:
            raise ValueError(
                f"{value:g}s is longer than the stage's duration {duration:g}s, which would cut "
                "the peak short (peakDuration defaults to 10s); make the stage longer or the "
                "peak shorter"
            )
        return value


class SineStage(TimedStage):
    """Oscillate around a mean: ``mean + amplitude · sin(2π t / period)``, never below 0."""

    type: Literal["sine"] = Field(description="sine")
    duration: Duration = Field(description="how long the stage lasts")
    mean: Rate = Field(description="mean rate, requests/s")
    amplitude: Rate = Field(description="amplitude, requests/s")
    period: Duration = Field(description="period of one oscillation")


class TraceStage(SpecModel):
    """Replay a recorded rate: a CSV of ``t_s,rps`` rows, linearly interpolated."""

    type: Literal["trace"] = Field(description="trace")
    file: str = Field(description="CSV file of t_s,rps rows, relative to the profile file")
    rate_scale: float = Field(1.0, gt=0, description="multiply every rate by this")
    time_scale: float = Field(
        1.0, gt=0, description="multiply every time by this (0.5 = 2× faster)"
    )
    points: list[tuple[float, float]] = Field(
        default_factory=list,
        description="the trace's (t_s, rps) points; filled in from the file when loaded",
    )


AnyStage = HoldStage | RampStage | StepStage | SpikeStage | SineStage | TraceStage
Stage = Annotated[AnyStage, Field(discriminator="type")]


class Arrivals(SpecModel):
    """How requests are spread within each second."""

    process: Literal["uniform", "poisson"] = Field(
        "poisson",
        description="uniform: evenly spaced; poisson: exponential inter-arrival times (seeded)",
    )
    seed: int | None = Field(
        None, description="seed of the Poisson process; default: the experiment seed"
    )


class ProfileSpec(SpecModel):
    """The body of a LoadProfile, also used inline in ``spec.load``."""

    stages: list[Stage] = Field(min_length=1, description="the stages, in order")
    arrivals: Arrivals = Field(default_factory=Arrivals, description="arrival process")


class LoadProfile(Header):
    """A file of ``kind: LoadProfile``."""

    kind: Literal["LoadProfile"] = Field(description="LoadProfile")
    spec: ProfileSpec = Field(description="stages and arrivals")


def profile_warnings(stages: Sequence[AnyStage]) -> list[tuple[int, str, str]]:
    """``(stage index, field, message)`` for each value the curve clamps by design."""
    out = []
    for index, stage in enumerate(stages):
        if isinstance(stage, SineStage) and stage.amplitude > stage.mean:
            share = 0.5 - math.asin(stage.mean / stage.amplitude) / math.pi
            out.append(
                (
                    index,
                    "amplitude",
                    f"the sine would go below 0 (mean {stage.mean:g} − amplitude "
                    f"{stage.amplitude:g} = {stage.mean - stage.amplitude:g} requests/s): the "
                    f"rate is clamped to 0 for {share:.0%} of each period",
                )
            )
    return out


@dataclass(frozen=True, slots=True)
class Segment:
    """One stage, resolved to absolute times and rates."""

    index: int
    kind: str
    start_s: float
    end_s: float
    start_rps: float
    end_rps: float


@dataclass(frozen=True)
class RateCurve:
    """The offered rate as a function of time since the profile began."""

    segments: tuple[Segment, ...]
    stages: tuple[AnyStage, ...]
    starts: tuple[float, ...]

    @property
    def duration_s(self) -> float:
        return self.segments[-1].end_s if self.segments else 0.0

    def rate_at(self, t_s: float) -> float:
        """Offered requests/s at ``t_s``; 0 before the start and after the end."""
        if t_s < 0 or t_s >= self.duration_s:
            return 0.0
        segment = self.segments[bisect.bisect_right(self.starts, t_s) - 1]
        return _stage_rate(self.stages[segment.index], segment, t_s - segment.start_s)

    def requests_between(self, t0_s: float, t1_s: float, step_s: float = 0.1) -> float:
        """Expected number of requests in ``[t0_s, t1_s)`` (midpoint rule)."""
        total, t = 0.0, t0_s
        while t < t1_s:
            width = min(step_s, t1_s - t)
            total += self.rate_at(t + width / 2) * width
            t += width
        return total

    def rises(self) -> list[tuple[float, float, float]]:
        """``(t_s, from_rps, to_rps)`` at each stage boundary where the offered rate rises."""
        out, previous = [], 0.0
        for segment in self.segments:
            if segment.start_rps > previous or (
                segment.kind == "ramp" and segment.end_rps > segment.start_rps
            ):
                out.append((segment.start_s, previous, max(segment.start_rps, segment.end_rps)))
            previous = segment.end_rps
        return out


def compile_profile(stages: Sequence[AnyStage]) -> RateCurve:
    """Resolve stages to absolute times and rates (each stage starts where the last ended)."""
    segments, now, previous = [], 0.0, 0.0
    for index, stage in enumerate(stages):
        start, end, duration = _stage_bounds(stage, previous)
        segments.append(Segment(index, stage.type, now, now + duration, start, end))
        now += duration
        previous = end
    return RateCurve(tuple(segments), tuple(stages), tuple(s.start_s for s in segments))


def _stage_bounds(stage: AnyStage, previous: float) -> tuple[float, float, float]:
    """(start rate, end rate, duration) of one stage."""
    match stage:
        case HoldStage(rps=rps, duration=duration):
            rate = previous if rps is None else rps
            return rate, rate, duration
        case RampStage(from_=start, to=to, duration=duration):
            return (previous if start is None else start), to, duration
        case StepStage(rps=rps, duration=duration):
            return rps, rps, duration
        case SpikeStage(rps=rps, duration=duration, peak_duration=peak, base=base):
            base_rate = previous if base is None else base
            return rps, (base_rate if duration > peak else rps), duration
        case SineStage(mean=mean, amplitude=amplitude, period=period, duration=duration):
            end = max(0.0, mean + amplitude * math.sin(2 * math.pi * duration / period))
            return mean, end, duration
        case TraceStage(points=points, rate_scale=scale, time_scale=time_scale):
            if not points:
                return 0.0, 0.0, 0.0
            return points[0][1] * scale, points[-1][1] * scale, points[-1][0] * time_scale


def _stage_rate(stage: AnyStage, segment: Segment, t: float) -> float:
    match stage:
        case RampStage():
            width = segment.end_s - segment.start_s
            share = t / width if width > 0 else 1.0
            return segment.start_rps + (segment.end_rps - segment.start_rps) * share
        case SpikeStage(rps=rps, peak_duration=peak):
            return rps if t < peak else segment.end_rps
        case SineStage(mean=mean, amplitude=amplitude, period=period):
            return max(0.0, mean + amplitude * math.sin(2 * math.pi * t / period))
        case TraceStage(points=points, rate_scale=scale, time_scale=time_scale):
            # O(log n) per call: validate and the load driver ask for every second of the trace
            i = bisect.bisect_right(points, t / time_scale, key=lambda point: point[0])
            if i >= len(points):
                return points[-1][1] * scale
            t0, r0 = points[i - 1][0] * time_scale, points[i - 1][1]
            t1, r1 = points[i][0] * time_scale, points[i][1]
            return (r0 + (r1 - r0) * (t - t0) / (t1 - t0)) * scale if t1 > t0 else r1 * scale
    return segment.start_rps
