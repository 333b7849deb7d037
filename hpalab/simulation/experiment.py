"""Every trial of an experiment, simulated: inputs built once per profile, run in parallel.

The arrival schedule of a trial is the load driver's (same profile with its warm-up stage,
same process, same seed ``spec.seed + repetition``); the model's own randomness (sync and
scrape phases, start-up draws) is seeded from the experiment's seed and the trial id, so the
same experiment gives the same trials on any machine and in any order.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from hpalab.autoscaling.hpa import parse_hpa_spec
from hpalab.errors import NotSimulable
from hpalab.load.arrivals import expected_per_second
from hpalab.orchestration.trial import plan_events
from hpalab.simulation.calibration import Calibration
from hpalab.simulation.metrics import check_simulable
from hpalab.simulation.schedule import Intensity
from hpalab.simulation.trial import TrialInput, TrialOutput, simulate_trial
from hpalab.specs import ExperimentSpec, LoadedExperiment, RateCurve, compile_profile
from hpalab.specs.phases import sync_offset_s
from hpalab.specs.profiles import HoldStage, ProfileSpec
from hpalab.specs.variants import TrialPlan


@dataclass(frozen=True)
class _Load:
    """One profile with one warm-up, prepared once: arrivals per seed are then cheap."""

    intensity: Intensity
    offered: tuple[float, ...]
    rate_at_tick: tuple[float, ...]
    load_s: float
    warmup_s: float
    warmup_rps: float
    measured: RateCurve

    def plan(self, sync_offset_s: float | None) -> tuple[tuple[float, str, str, Any], ...]:
        """The phase and load_step events a real trial writes, with its planned sync phase."""
        return tuple(
            plan_events(
                self.measured,
                warmup_s=self.warmup_s,
                warmup_rps=self.warmup_rps,
                sync_offset_s=sync_offset_s,
            )
        )


def _prepare(
    profile: ProfileSpec, *, warmup_s: float, warmup_rps: float, cooldown_s: float
) -> _Load:
    stages = list(profile.stages)
    if warmup_s > 0:
        stages.insert(0, HoldStage(type="hold", duration=warmup_s, rps=warmup_rps))
    full, measured = compile_profile(stages), compile_profile(profile.stages)
    end = measured.duration_s + cooldown_s
    seconds = range(-math.floor(warmup_s), math.floor(end) + 1)
    offered = expected_per_second(full)
    offered += [0.0] * max(0, len(seconds) - len(offered))
    return _Load(
        intensity=Intensity.of(full),
        offered=tuple(offered[: len(seconds)]),
        rate_at_tick=tuple(measured.rate_at(float(t)) for t in seconds),
        load_s=measured.duration_s,
        warmup_s=warmup_s,
        warmup_rps=warmup_rps,
        measured=measured,
    )


def trial_seed(seed: int, trial_id: str) -> int:
    """The model's seed for one trial: stable across runs, machines and trial order."""
    return zlib.crc32(f"{seed}/{trial_id}".encode())


class Planner:
    """Builds :class:`TrialInput` objects for an experiment's variants (caching each profile)."""

    def __init__(self, loaded: LoadedExperiment, *, calibration: Calibration) -> None:
        self.loaded = loaded
        self.calibration = calibration
        self._loads: dict[tuple[float, float, float], _Load] = {}

    def load_for(self, spec: ExperimentSpec) -> _Load:
        phases = spec.phases
        key = (phases.warmup, phases.warmup_rps, phases.cooldown)
        if key not in self._loads:
            self._loads[key] = _prepare(
                self.loaded.profile,
                warmup_s=phases.warmup,
                warmup_rps=phases.warmup_rps,
                cooldown_s=phases.cooldown,
            )
        return self._loads[key]

    def trial(
        self, *, trial_id: str, spec: ExperimentSpec, repetition: int, first: bool = False
    ) -> TrialInput:
        """The input of one trial of ``spec`` (a variant's resolved spec); ``first``: the
        run's first trial, on a freshly started platform."""
        check_simulable_spec(spec)
        load = self.load_for(spec)
        arrivals = self.loaded.profile.arrivals
        seed = arrivals.seed if arrivals.seed is not None else spec.seed + repetition
        times = load.intensity.arrivals(process=arrivals.process, seed=seed) - load.warmup_s
        offset = sync_offset_s(
            spec.phases, period_s=spec.controller.sync_period, seed=spec.seed, repetition=repetition
        )
        return TrialInput(
            trial_id=trial_id,
            spec=spec,
            arrivals=times,
            offered=load.offered,
            rate_at_tick=load.rate_at_tick,
            load_s=load.load_s,
            plan=load.plan(offset),
            seed=trial_seed(spec.seed, trial_id),
            calibration=self.calibration,
            fresh_platform=first,
            sync_offset_s=offset,
        )

    def plan(self, plans: Sequence[TrialPlan]) -> list[TrialInput]:
        return [
            self.trial(
                trial_id=p.trial_id,
                spec=self.loaded.variant(p.variant).spec,
                repetition=p.repetition,
                first=p.order == 1,
            )
            for p in plans
        ]


def check_simulable_spec(spec: ExperimentSpec) -> None:
    """Raise NotSimulable for what the simulator does not model."""
    if spec.load.model == "closed":
        raise NotSimulable(
            "the simulator models the open model only (arrivals per second), not closed-model "
            "users",
            hint="run it for real with hpalab run, or simulate an open-model copy",
        )
    if spec.app.command:
        raise NotSimulable(
            "the simulator models the sample app, not your own program (spec.app.command)",
            hint="run it for real with hpalab run; --calibrate cannot fit a program it does "
            "not model",
        )
    target = {"kind": "Deployment", "name": "sample-app"}
    check_simulable(parse_hpa_spec({**spec.hpa.to_kubernetes(), "scaleTargetRef": target}))


def workers_for(count: int, jobs: int | None = None) -> int:
    """Worker processes: ``jobs`` when given, else one per core, never more than trials."""
    cores = os.cpu_count() or 1
    return max(1, min(count, jobs or cores))


def run_trials(
    inputs: Sequence[TrialInput],
    *,
    jobs: int | None = None,
    done: Callable[[TrialOutput], None] | None = None,
) -> list[TrialOutput]:
    """Simulate every input, in parallel over the cores; outputs in input order."""
    outputs: list[TrialOutput] = []
    for output in _iterate(inputs, workers_for(len(inputs), jobs)):
        outputs.append(output)
        if done is not None:
            done(output)
    return outputs


def _iterate(inputs: Sequence[TrialInput], workers: int) -> Iterator[TrialOutput]:
    if workers == 1 or len(inputs) < 4:
        yield from map(simulate_trial, inputs)
        return
    chunk = max(1, len(inputs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(simulate_trial, inputs, chunksize=chunk)
