"""What ``hpalab tune`` minimises, and how a candidate's simulated trials are measured.

An objective is a metric of ``summary.csv`` (analysis/metrics.py) whose better direction is
lower (minimised as is) or higher (maximised). A simulated trial is measured with the very
functions ``hpalab report`` uses on a run directory, so a tuned value means what the report
would say.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hpalab.analysis.metrics import METRIC_INFO, trial_metrics
from hpalab.analysis.traces import make_trace
from hpalab.errors import UsageError
from hpalab.report.specparams import slo, tolerance
from hpalab.simulation.trial import TrialOutput
from hpalab.specs import ExperimentSpec

DEFAULT_OBJECTIVES = ("slo_violation_s", "cost_replica_s", "time_to_capacity_s")
INTERVAL = (5.0, 95.0)
"""Percentiles of a candidate's simulated trials that make its simulated interval."""


@dataclass(frozen=True)
class Objective:
    """One objective: a summary metric and its direction."""

    metric: str
    maximize: bool
    unit: str
    label: str

    @property
    def direction(self) -> Literal["minimize", "maximize"]:
        return "maximize" if self.maximize else "minimize"


def parse_objectives(names: list[str]) -> list[Objective]:
    """Objectives by metric name (comma-separated or repeated); raises UsageError."""
    wanted = [n.strip() for item in names for n in item.split(",") if n.strip()]
    if not wanted:
        wanted = list(DEFAULT_OBJECTIVES)
    usable = sorted(m for m, info in METRIC_INFO.items() if info.better in ("lower", "higher"))
    out = []
    for name in dict.fromkeys(wanted):
        info = METRIC_INFO.get(name)
        if info is None or info.better not in ("lower", "higher"):
            raise UsageError(
                f"--objective {name!r} is not a metric that is better lower or higher",
                hint=f"use one of: {', '.join(usable)}",
            )
        out.append(Objective(name, info.better == "higher", info.unit, info.label))
    return out


def measure(output: TrialOutput, spec: ExperimentSpec) -> dict[str, float]:
    """Every summary metric of one simulated trial, as ``hpalab report`` computes them."""
    tidy = pd.DataFrame(output.signals, columns=["t_s", "signal", "value"])
    events = pd.DataFrame(
        [
            (t, kind, obj, json.dumps(detail, separators=(",", ":")))
            for t, kind, obj, detail in output.events
        ],
        columns=["t_s", "kind", "object", "detail"],
    )
    trace = make_trace(output.trial_id, tidy, events)
    return trial_metrics(trace, slo=slo(spec), tolerance=tolerance(spec))


@dataclass(frozen=True)
class Summary:
    """One objective over a candidate's simulated trials."""

    median: float
    low: float
    high: float
    n: int


def summarise(values: list[float]) -> Summary:
    """Median and the 5–95 % interval of the finite values (an infinite time to capacity,
    never reached, counts as the largest); NaN when none."""
    finite = [v for v in values if not math.isnan(v)]
    if not finite:
        return Summary(math.nan, math.nan, math.nan, 0)
    array = np.array(finite, dtype="float64")
    low, high = np.percentile(array, INTERVAL)
    return Summary(float(np.median(array)), float(low), float(high), len(finite))


def score(summary: Summary, objective: Objective) -> float:
    """The value the optimiser sees: the median, with never-reached (inf or NaN) as a large
    finite penalty so that the search can still rank such candidates."""
    value = summary.median
    if math.isnan(value) or math.isinf(value):
        return -1e12 if objective.maximize else 1e12
    return value
