"""The search: optuna's NSGA-II over the parameters, each candidate simulated and measured.

Candidates are asked from the study in batches of fixed size and simulated in parallel over
the cores; the results are told back in order, so a seed gives the same search on any
machine. Every candidate is simulated on the same repetitions (same arrival streams, same
model seeds: common random numbers), so differences between candidates are the tuning's,
not the noise's. The result is every candidate with its objectives, and the Pareto front.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import optuna

from hpalab.simulation.calibration import Calibration
from hpalab.simulation.experiment import Planner
from hpalab.simulation.trial import simulate_trial
from hpalab.specs import ExperimentSpec, LoadedExperiment
from hpalab.tuning.objectives import Objective, Summary, measure, score, summarise
from hpalab.tuning.space import Param, apply

BATCH = 8
"""Candidates asked at once: fixed, so that the search does not depend on the core count."""


@dataclass
class Candidate:
    """One point of the search."""

    number: int
    values: dict[str, Any]
    """Parameter path → value as searched."""
    spec: ExperimentSpec | None
    error: str = ""
    """Why the candidate is infeasible (its spec is invalid); empty otherwise."""
    objectives: dict[str, Summary] = field(default_factory=dict)
    pareto: bool = False
    knee_distance: float = math.inf
    """Distance to the ideal point over the front, normalised; the knee has the smallest."""


@dataclass
class SearchResult:
    """Every candidate and the Pareto front."""

    candidates: list[Candidate]
    params: list[Param]
    objectives: list[Objective]
    repetitions: int

    @property
    def front(self) -> list[Candidate]:
        """The Pareto-optimal candidates, knee first."""
        return sorted((c for c in self.candidates if c.pareto), key=lambda c: c.knee_distance)

    @property
    def knee(self) -> Candidate | None:
        front = self.front
        return front[0] if front else None


_PLANNER: Planner | None = None


def _init_worker(loaded: LoadedExperiment, calibration: Calibration) -> None:
    global _PLANNER  # noqa: PLW0603 - one planner per worker process, built once
    _PLANNER = Planner(loaded, calibration=calibration)


def _evaluate(spec: ExperimentSpec, repetitions: int) -> list[dict[str, float]]:
    """Every summary metric of each repetition of ``spec`` (runs in a worker)."""
    assert _PLANNER is not None
    out = []
    for repetition in range(1, repetitions + 1):
        data = _PLANNER.trial(trial_id=f"tune#{repetition}", spec=spec, repetition=repetition)
        out.append(measure(simulate_trial(data), spec))
    return out


def _suggest(trial: optuna.Trial, param: Param) -> Any:
    if param.choices:
        return trial.suggest_categorical(param.path, list(param.choices))
    assert param.low is not None and param.high is not None
    if param.integer:
        return trial.suggest_int(param.path, int(param.low), int(param.high), log=param.log)
    return trial.suggest_float(param.path, param.low, param.high, log=param.log)


def search(
    loaded: LoadedExperiment,
    *,
    params: list[Param],
    objectives: list[Objective],
    budget: int,
    repetitions: int,
    calibration: Calibration,
    seed: int,
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchResult:
    """Search ``budget`` candidates; the baseline variant's spec is the starting point."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    base = loaded.variant(loaded.baseline).spec.to_yaml_dict()
    population = max(4, min(50, budget // 4))
    sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    study = optuna.create_study(directions=[o.direction for o in objectives], sampler=sampler)
    candidates: list[Candidate] = []
    with _Pool(loaded, calibration, jobs) as evaluate:
        while len(candidates) < budget:
            trials = [study.ask() for _ in range(min(BATCH, budget - len(candidates)))]
            batch = [_candidate(t, params, base) for t in trials]
            runs = evaluate([c.spec for c in batch if c.spec is not None], repetitions)
            for trial, candidate in zip(trials, batch, strict=True):
                _tell(study, trial, candidate, runs, objectives)
                candidates.append(candidate)
                if progress is not None:
                    progress(len(candidates), budget)
    result = SearchResult(candidates, params, objectives, repetitions)
    mark_front(result)
    return result


def _tell(
    study: optuna.Study,
    trial: optuna.Trial,
    candidate: Candidate,
    runs: Iterator[list[dict[str, float]]],
    objectives: list[Objective],
) -> None:
    """Measure the candidate from its simulated trials and tell the study (or fail it)."""
    if candidate.spec is None:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        return
    metrics = next(runs)
    candidate.objectives = {o.metric: summarise([m[o.metric] for m in metrics]) for o in objectives}
    study.tell(trial, [score(candidate.objectives[o.metric], o) for o in objectives])


def _candidate(trial: optuna.Trial, params: list[Param], base: dict[str, Any]) -> Candidate:
    values = {p.path: _suggest(trial, p) for p in params}
    try:
        spec = apply(params, values, base=base)
    except ValueError as error:
        return Candidate(trial.number, values, None, error=str(error))
    return Candidate(trial.number, values, spec)


Evaluate = Callable[[list[ExperimentSpec | None], int], Iterator[list[dict[str, float]]]]


class _Pool:
    """Evaluates a batch of specs in worker processes (or in this one with one job)."""

    def __init__(self, loaded: LoadedExperiment, calibration: Calibration, jobs: int | None):
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.loaded, self.calibration = loaded, calibration
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> Evaluate:
        if self.jobs > 1:
            self.executor = ProcessPoolExecutor(
                max_workers=self.jobs,
                initializer=_init_worker,
                initargs=(self.loaded, self.calibration),
            )
        else:
            _init_worker(self.loaded, self.calibration)
        return self.run

    def run(
        self, specs: list[ExperimentSpec | None], repetitions: int
    ) -> Iterator[list[dict[str, float]]]:
        if self.executor is None:
            return iter([_evaluate(s, repetitions) for s in specs if s is not None])
        futures = [self.executor.submit(_evaluate, s, repetitions) for s in specs if s is not None]
        return iter([f.result() for f in futures])

    def __exit__(self, *exc: object) -> None:
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


def mark_front(result: SearchResult) -> None:
    """Mark the non-dominated candidates and their normalised distance to the ideal point."""
    feasible = [c for c in result.candidates if c.objectives]
    points = {c.number: _oriented(c, result.objectives) for c in feasible}
    for c in feasible:
        c.pareto = not any(
            _dominates(points[o.number], points[c.number]) for o in feasible if o is not c
        )
    front = [c for c in feasible if c.pareto]
    if not front:
        return
    lows = [min(points[c.number][i] for c in front) for i in range(len(result.objectives))]
    highs = [max(points[c.number][i] for c in front) for i in range(len(result.objectives))]
    for c in front:
        scaled = [
            (v - lo) / (hi - lo) if hi > lo else 0.0
            for v, lo, hi in zip(points[c.number], lows, highs, strict=True)
        ]
        c.knee_distance = math.sqrt(sum(s * s for s in scaled))


def _oriented(candidate: Candidate, objectives: list[Objective]) -> list[float]:
    """Objective values to minimise (maximised ones negated; never reached = large)."""
    return [
        -score(candidate.objectives[o.metric], o)
        if o.maximize
        else score(candidate.objectives[o.metric], o)
        for o in objectives
    ]


def _dominates(a: list[float], b: list[float]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )
