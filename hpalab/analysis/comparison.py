"""Variants against the baseline: medians with bootstrap CIs, rank tests, verdicts.

One row per variant and metric, with the columns of ``comparison.csv``. The verdict is
``better`` or ``worse`` only when the rank test separates the variant from the baseline at
level ``alpha``; otherwise ``inconclusive``. The baseline's own rows say ``baseline``.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hpalab.analysis.metrics import METRIC_INFO, METRICS, MetricInfo
from hpalab.analysis.statistics import bootstrap_median_ci, median, rank_test
from hpalab.results.schema import COMPARISON

DEFAULT_ALPHA = 0.05
DEFAULT_CONFIDENCE = 0.95


def choose_baseline(variants: Sequence[str], requested: str | None = None) -> str:
    """The baseline variant: ``requested`` if given, else one named ``baseline``, else the first.

    Raises ``ValueError`` when ``requested`` is not a variant or there are no variants.
    """
    if not variants:
        raise ValueError("there are no variants to compare")
    if requested is not None:
        if requested not in variants:
            raise ValueError(f"unknown baseline variant {requested!r}")
        return requested
    return "baseline" if "baseline" in variants else variants[0]


def compared_metrics() -> list[MetricInfo]:
    """The metrics that have a good direction (the others are descriptive only)."""
    return [m for m in METRICS if m.better != "none"]


def compare(
    summary: pd.DataFrame,
    *,
    baseline: str,
    variants: Sequence[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> pd.DataFrame:
    """The comparison table for the trials in ``summary`` (already stripped of unusable ones).

    ``variants`` fixes the row order (default: order of first appearance). Metrics whose good
    direction is ``zero`` (jitter, load error) are compared on their absolute values.
    """
    order = list(variants) if variants is not None else list(dict.fromkeys(summary["variant"]))
    groups = {v: summary[summary["variant"] == v] for v in order}
    rows = []
    for variant in order:
        for info in compared_metrics():
            rows.append(
                _row(
                    info,
                    variant=variant,
                    values=_values(groups[variant], info),
                    base=_values(groups.get(baseline, summary.iloc[0:0]), info),
                    is_baseline=variant == baseline,
                    alpha=alpha,
                    confidence=confidence,
                    seed=seed ^ zlib.crc32(f"{variant}\0{info.name}".encode()),
                )
            )
    return pd.DataFrame(rows, columns=list(COMPARISON.names))


def _values(group: pd.DataFrame, info: MetricInfo) -> np.ndarray:
    if info.name not in group.columns:
        return np.array([], dtype="float64")
    values = group[info.name].to_numpy(dtype="float64")
    return np.abs(values) if info.better == "zero" else values


def _row(
    info: MetricInfo,
    *,
    variant: str,
    values: np.ndarray,
    base: np.ndarray,
    is_baseline: bool,
    alpha: float,
    confidence: float,
    seed: int,
) -> dict[str, object]:
    known = values[~np.isnan(values)]
    low, high = bootstrap_median_ci(known, confidence=confidence, seed=seed)
    mid, base_mid = median(known), median(base)
    with np.errstate(invalid="ignore"):
        diff = mid - base_mid if not (math.isinf(mid) and math.isinf(base_mid)) else 0.0
        mean = float(np.mean(known)) if known.size else math.nan
    test = rank_test(known, base)
    verdict = "baseline" if is_baseline else _verdict(info, test.p_value, test.cliffs_delta, alpha)
    return {
        "variant": variant,
        "metric": info.name,
        "unit": info.unit,
        "n": int(known.size),
        "median": mid,
        "mean": mean,
        "ci_low": low,
        "ci_high": high,
        "diff_vs_baseline": math.nan if is_baseline else diff,
        "p_value": math.nan if is_baseline else test.p_value,
        "effect_size": math.nan if is_baseline else test.cliffs_delta,
        "verdict": verdict,
    }


def _verdict(info: MetricInfo, p_value: float, delta: float, alpha: float) -> str:
    if math.isnan(p_value) or p_value > alpha or delta == 0:
        return "inconclusive"
    larger_is_better = info.better == "higher"
    return "better" if (delta > 0) == larger_is_better else "worse"


def variant_verdicts(comparison: pd.DataFrame, metrics: Sequence[str]) -> dict[str, str]:
    """One line per variant: how many of ``metrics`` are better and worse than the baseline."""
    out: dict[str, str] = {}
    for variant, rows in comparison.groupby("variant", sort=False):
        chosen = rows[rows["metric"].isin(metrics)]
        if (chosen["verdict"] == "baseline").all():
            out[str(variant)] = "baseline"
            continue
        better = int((chosen["verdict"] == "better").sum())
        worse = int((chosen["verdict"] == "worse").sum())
        if better == worse == 0:
            out[str(variant)] = "inconclusive"
        else:
            out[str(variant)] = f"better on {better}, worse on {worse} of {len(chosen)}"
    return out


def metric_label(name: str) -> str:
    """Human label of a metric (its name when unknown)."""
    info = METRIC_INFO.get(name)
    return info.label if info else name
