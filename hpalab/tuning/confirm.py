"""``--confirm K``: the K best candidates run for real, beside what the simulation said.

The candidates (the front, knee first) become the variants of an ordinary ``hpalab run`` on
the chosen platform, written as a run directory inside the tuning directory. Each
objective's real median is then put beside its simulated median and interval; a candidate
whose real median falls outside the simulated 5–95 % interval is flagged: the simulation
was wrong about it, and the real figure is the one to trust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hpalab.orchestration.progress import QuietProgress
from hpalab.orchestration.runner import RunOptions, RunResult, run_experiment
from hpalab.orchestration.wiring import load_starter, platform_factory, write_report
from hpalab.results import SUMMARY, read_table
from hpalab.specs import LoadedExperiment, ResolvedVariant
from hpalab.tuning.search import Candidate, SearchResult
from hpalab.tuning.space import typed


@dataclass(frozen=True)
class Confirmation:
    """The real run and the comparison table."""

    run: RunResult
    table: pd.DataFrame
    """candidate, variant, objective, simulated median/low/high, real median, n, outside."""

    @property
    def flagged(self) -> list[str]:
        """Variants with an objective whose real median left the simulated interval."""
        return sorted(set(self.table[self.table["outside"]]["variant"]))


def confirm_variants(
    loaded: LoadedExperiment, result: SearchResult, *, count: int
) -> tuple[LoadedExperiment, dict[str, Candidate]]:
    """The experiment with the ``count`` best candidates as its variants (knee first)."""
    baseline = loaded.variant(loaded.baseline)
    base = baseline.spec.to_yaml_dict()
    chosen = [c for c in result.front if c.spec is not None][:count]
    variants, by_name = [], {}
    for rank, candidate in enumerate(chosen, start=1):
        assert candidate.spec is not None
        name = f"tuned-{rank}-candidate-{candidate.number}"
        patch: dict[str, Any] = dict(baseline.patch)
        patch.update({p.path: typed(p, candidate.values[p.path], base=base) for p in result.params})
        variants.append(ResolvedVariant(name, patch, candidate.spec))
        by_name[name] = candidate
    confirmed = LoadedExperiment(
        path=loaded.path,
        experiment=loaded.experiment,
        profile=loaded.profile,
        variants=variants,
        baseline=variants[0].name,
        raw=loaded.raw,
    )
    return confirmed, by_name


def confirm(
    loaded: LoadedExperiment,
    result: SearchResult,
    *,
    count: int,
    platform: str,
    out_dir: Path,
    repetitions: int | None,
) -> Confirmation:
    """Run the ``count`` best candidates on ``platform`` and compare with the simulation."""
    confirmed, by_name = confirm_variants(loaded, result, count=count)
    progress = QuietProgress()
    try:
        run = run_experiment(
            confirmed,
            options=RunOptions(out_dir=out_dir, repetitions=repetitions),
            platform_factory=platform_factory(platform, context=None, namespace="hpalab"),
            start_load=load_starter(),
            progress=progress,
            platform_name=platform,
            after_trials=write_report,
        )
    finally:
        progress.close()
    summary = read_table(run.path, SUMMARY)
    return Confirmation(run, compare_table(summary, by_name, result))


def compare_table(
    summary: pd.DataFrame, by_name: dict[str, Candidate], result: SearchResult
) -> pd.DataFrame:
    """Simulated against measured, per candidate and objective."""
    complete = summary[summary["status"].astype(str) == "complete"]
    rows = []
    for name, candidate in by_name.items():
        measured = complete[complete["variant"].astype(str) == name]
        for o in result.objectives:
            simulated = candidate.objectives[o.metric]
            values = measured[o.metric].astype("float64").dropna()
            real = float(values.median()) if len(values) else math.nan
            outside = bool(len(values)) and not _within(real, simulated.low, simulated.high)
            rows.append(
                {
                    "candidate": candidate.number,
                    "variant": name,
                    "objective": o.metric,
                    "simulated_median": simulated.median,
                    "simulated_low": simulated.low,
                    "simulated_high": simulated.high,
                    "real_median": real,
                    "real_n": len(values),
                    "outside": outside,
                }
            )
    return pd.DataFrame(rows)


def _within(value: float, low: float, high: float) -> bool:
    if math.isinf(value) and math.isinf(high):
        return True  # never reached, as simulated
    return low <= value <= high
