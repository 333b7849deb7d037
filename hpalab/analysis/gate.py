"""The regression gate: is a variant of a new run significantly worse than in an old run?

For each variant present in both runs and each gated metric, the trials of the new run are
compared with those of the old run, with the report's statistics:

- the *worsening* is the median difference in the metric's bad direction (new − old for a
  lower-is-better metric), with a percentile-bootstrap interval (both samples resampled);
- the *verdict* is the rank test's: ``worse`` only when the Mann-Whitney U test separates the
  runs at level ``alpha``.

A check **fails** when the verdict is ``worse`` and the whole interval of the worsening lies
above the allowance; it **passes** when the median worsening is within the allowance; anything
else is **inconclusive** (the median got worse by more than allowed, but the data cannot tell a
regression from noise), which does not fail the gate unless it is strict.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hpalab.analysis.comparison import DEFAULT_ALPHA, DEFAULT_CONFIDENCE, compared_metrics
from hpalab.analysis.metrics import METRIC_INFO
from hpalab.analysis.statistics import finite_or_inf, median, rank_test
from hpalab.specs.gate import LoadedRule

Outcome = Literal["pass", "fail", "inconclusive"]

ALIASES: dict[str, str] = {
    "replica_seconds": "cost_replica_s",
    "cost": "cost_replica_s",
    "detection_s": "detection_latency_s",
    "p95_ms": "latency_p95_ms",
}
"""Other names the gate accepts for summary.csv columns."""

RESAMPLES = 2000


def gateable_metrics() -> list[str]:
    """The metrics a rule may name: those with a good direction."""
    return [m.name for m in compared_metrics()]


@dataclass(frozen=True)
class GateCheck:
    """One variant × one rule."""

    variant: str
    rule: LoadedRule
    unit: str
    n_new: int
    n_old: int
    old_median: float
    new_median: float
    worsening: float
    """Median difference in the bad direction, in the metric's unit (negative: improved)."""
    ci_low: float
    ci_high: float
    allowed: float
    """The allowance in the metric's unit."""
    p_value: float
    verdict: str
    """The rank test's verdict on the new run against the old: better, worse, inconclusive."""
    outcome: Outcome
    reason: str


def run_gate(
    new: pd.DataFrame,
    old: pd.DataFrame,
    rules: Sequence[LoadedRule],
    *,
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> list[GateCheck]:
    """Every check, variants in the new run's order. ``new`` and ``old`` are summary tables
    (summary.csv rows) of the usable trials only."""
    out = []
    old_variants = set(old["variant"].astype(str))
    for variant in dict.fromkeys(new["variant"].astype(str)):
        for rule in rules:
            values_new = _values(new, variant, rule.metric)
            values_old = _values(old, variant, rule.metric) if variant in old_variants else None
            out.append(
                _check(
                    variant,
                    rule,
                    values_new,
                    values_old,
                    alpha=alpha,
                    confidence=confidence,
                    seed=seed ^ zlib.crc32(f"{variant}\0{rule.metric}".encode()),
                )
            )
    return out


def _values(summary: pd.DataFrame, variant: str, metric: str) -> np.ndarray:
    rows = summary[summary["variant"].astype(str) == variant]
    if metric not in rows.columns:
        return np.array([], dtype="float64")
    values = rows[metric].to_numpy(dtype="float64")
    values = finite_or_inf(np.abs(values) if METRIC_INFO[metric].better == "zero" else values)
    # the bad direction is up for every metric but the higher-is-better ones
    return -values if METRIC_INFO[metric].better == "higher" else values


def _check(
    variant: str,
    rule: LoadedRule,
    new: np.ndarray,
    old: np.ndarray | None,
    *,
    alpha: float,
    confidence: float,
    seed: int,
) -> GateCheck:
    unit = METRIC_INFO[rule.metric].unit
    old = np.array([], dtype="float64") if old is None else old
    old_mid, new_mid = median(old), median(new)
    worsening = _difference(new_mid, old_mid)
    allowed = rule.amount * abs(old_mid) if rule.relative else rule.amount
    low, high = bootstrap_difference_ci(new, old, confidence=confidence, seed=seed)
    test = rank_test(new, old)
    verdict = _verdict(test.p_value, test.cliffs_delta, alpha)
    outcome, reason = _outcome(
        new.size, old.size, worsening=worsening, allowed=allowed, low=low, verdict=verdict
    )
    sign = -1.0 if METRIC_INFO[rule.metric].better == "higher" else 1.0
    return GateCheck(
        variant=variant,
        rule=rule,
        unit=unit,
        n_new=int(new.size),
        n_old=int(old.size),
        old_median=sign * old_mid,
        new_median=sign * new_mid,
        worsening=worsening,
        ci_low=low,
        ci_high=high,
        allowed=allowed,
        p_value=test.p_value,
        verdict=verdict,
        outcome=outcome,
        reason=reason,
    )


def _outcome(
    n_new: int, n_old: int, *, worsening: float, allowed: float, low: float, verdict: str
) -> tuple[Outcome, str]:
    if n_new == 0 or n_old == 0:
        which = "new" if n_new == 0 else "old"
        return "inconclusive", f"no usable trial with this metric in the {which} run"
    if worsening <= allowed:
        return "pass", "within the allowance"
    if verdict == "worse" and low > allowed:
        return "fail", "significantly worse than allowed"
    if verdict != "worse":
        return "inconclusive", "worse than allowed at the median, but the rank test does not " + (
            "separate the runs (more repetitions would tell)"
        )
    return "inconclusive", "significantly worse, but the interval reaches into the allowance"


def _verdict(p_value: float, delta: float, alpha: float) -> str:
    """The rank test's verdict for a bad-direction-is-up sample (delta > 0: new is larger)."""
    if math.isnan(p_value) or p_value > alpha or delta == 0:
        return "inconclusive"
    return "worse" if delta > 0 else "better"


def _difference(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if math.isinf(a) and math.isinf(b) and (a > 0) == (b > 0):
        return 0.0
    return a - b


def bootstrap_difference_ci(
    new: np.ndarray,
    old: np.ndarray,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``median(new) − median(old)``, both resampled; NaN
    when either is empty. ``inf`` values stay: a resample that never reached the goal in the
    new run but did in the old one differs by ``inf``."""
    if new.size == 0 or old.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    a = np.median(rng.choice(new, size=(resamples, new.size), replace=True), axis=1)
    b = np.median(rng.choice(old, size=(resamples, old.size), replace=True), axis=1)
    with np.errstate(invalid="ignore"):
        diffs = np.where(np.isinf(a) & np.isinf(b) & (np.sign(a) == np.sign(b)), 0.0, a - b)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail], method="inverted_cdf")
    return float(low), float(high)


def gate_failed(checks: Sequence[GateCheck], *, strict: bool = False) -> bool:
    """Whether the gate refuses the change: any failure, or with ``strict`` any inconclusive
    check too."""
    bad = {"fail", "inconclusive"} if strict else {"fail"}
    return any(c.outcome in bad for c in checks)
