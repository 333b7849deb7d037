"""The simulation against the lab: per variant, the metrics that decide between tunings.

A simulated median is within target when it is within 10 % of the lab's median, or inside the
lab's bootstrap confidence interval of that median (with few repetitions the interval is the
honest yardstick). Pure pandas over two ``comparison.csv`` tables.
"""

from __future__ import annotations

import math

import pandas as pd

METRICS = ("detection_latency_s", "time_to_capacity_s", "cost_replica_s", "slo_violation_s")
RELATIVE = 0.10


def validation_table(lab: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    """One row per variant and metric present in both comparison tables."""
    rows = []
    medians = {
        (str(v), str(m)): float(x)
        for v, m, x in zip(
            simulated["variant"], simulated["metric"], simulated["median"], strict=True
        )
    }
    chosen = lab[lab["metric"].isin(METRICS)]
    for variant, metric, median, low, high in zip(
        chosen["variant"].astype(str),
        chosen["metric"].astype(str),
        chosen["median"].astype("float64"),
        chosen["ci_low"].astype("float64"),
        chosen["ci_high"].astype("float64"),
        strict=True,
    ):
        key = (variant, metric)
        if key not in medians:
            continue
        got = medians[key]
        diff = (got - median) / median * 100 if median else math.nan
        close = math.isfinite(diff) and abs(diff) <= RELATIVE * 100
        inside = math.isfinite(low) and math.isfinite(high) and low <= got <= high
        rows.append(
            {
                "variant": key[0],
                "metric": key[1],
                "lab_median": median,
                "lab_ci_low": low,
                "lab_ci_high": high,
                "sim_median": got,
                "diff_pct": diff,
                "within": bool(close or inside or (got == median)),
            }
        )
    return pd.DataFrame(rows)
