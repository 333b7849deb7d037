"""The same experiment on the local platform and on a real cluster: per variant, how far apart
detection latency, time to capacity and replica-seconds are.

For each variant and metric it prints both medians over the repetitions, the cluster's median
minus the lab's with a percentile-bootstrap interval of that difference (both sides resampled),
the difference relative to the lab's median, and whether the two agree: within 10 % of each
other, or the interval holds 0.

Run both first, with the same seed (the experiment's), then:

    hpalab run experiments/step.yaml --out runs/lab
    hpalab up --platform kubernetes experiments/step.yaml      # on `hpalab cluster`
    hpalab run experiments/step.yaml --platform kubernetes --out runs/cluster
    .venv/bin/python scripts/lab_vs_cluster.py runs/lab/* runs/cluster/*
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from hpalab.analysis.gate import bootstrap_difference_ci
from hpalab.analysis.traces import parse_detail

METRICS = ("detection_latency_s", "time_to_capacity_s", "cost_replica_s")
TOLERANCE = 0.10


def _values(summary: pd.DataFrame, variant: str, metric: str) -> np.ndarray:
    column = summary.loc[summary["variant"] == variant, metric].dropna()
    return column.to_numpy(dtype="float64")


def compare(lab: pd.DataFrame, cluster: pd.DataFrame) -> pd.DataFrame:
    """One row per variant and metric of the two runs' ``summary.csv``."""
    rows = []
    for variant in sorted(set(lab["variant"]) & set(cluster["variant"])):
        for metric in METRICS:
            a = lab.loc[lab["variant"] == variant, metric].dropna().to_numpy(dtype="float64")
            b = (
                cluster.loc[cluster["variant"] == variant, metric]
                .dropna()
                .to_numpy(dtype="float64")
            )
            low, high = bootstrap_difference_ci(b, a, seed=7)
            lab_mid = float(np.median(a)) if a.size else math.nan
            diff = float(np.median(b)) - lab_mid if a.size and b.size else math.nan
            relative = diff / lab_mid if lab_mid else math.nan
            agree = abs(relative) <= TOLERANCE or (low <= 0 <= high)
            rows.append(
                {
                    "variant": variant,
                    "metric": metric,
                    "n": f"{a.size}/{b.size}",
                    "lab": lab_mid,
                    "cluster": float(np.median(b)) if b.size else math.nan,
                    "diff": diff,
                    "ci_low": low,
                    "ci_high": high,
                    "relative": relative,
                    "agree": "yes" if agree else "NO",
                }
            )
    return pd.DataFrame(rows)


def sync_offsets(run_dir: Path) -> dict[str, float]:
    """Each trial's planned phase of the HPA's sync cycle (``hpa_sync_offset_s`` of its load
    phase); trials whose load was not aligned are left out."""
    events = pd.read_csv(run_dir / "events.csv")
    loads = events[(events["kind"] == "phase") & (events["t_s"] == 0.0)]
    out = {}
    for trial, detail in zip(loads["trial_id"], loads["detail"], strict=True):
        offset = parse_detail(detail).get("hpa_sync_offset_s")
        if offset is not None:
            out[str(trial)] = float(offset)
    return out


def paired(lab_dir: Path, cluster_dir: Path) -> pd.DataFrame:
    """Trial by trial: repetition r has the same sync phase on both platforms (the default
    ``syncPhase: random`` draws it from the seed and r), so its two runs differ only by the
    platforms."""
    lab = pd.read_csv(lab_dir / "summary.csv").set_index("trial_id")
    cluster = pd.read_csv(cluster_dir / "summary.csv").set_index("trial_id")
    phases = (sync_offsets(lab_dir), sync_offsets(cluster_dir))
    rows = []
    for trial in sorted(set(lab.index) & set(cluster.index)):
        row: dict[str, object] = {
            "trial": trial,
            "phase lab/cluster": f"{phases[0].get(trial, math.nan):.2f}/"
            f"{phases[1].get(trial, math.nan):.2f}",
        }
        for metric in METRICS:
            row[metric] = f"{lab.at[trial, metric]:.2f} / {cluster.at[trial, metric]:.2f}"
        rows.append(row)
    return pd.DataFrame(rows)


def paired_differences(lab_dir: Path, cluster_dir: Path) -> pd.DataFrame:
    """Per metric, the cluster's value minus the lab's in the same trial: median, min, max.
    With random sync phases the per-variant medians spread over the phases; paired, the
    phase cancels out."""
    lab = pd.read_csv(lab_dir / "summary.csv").set_index("trial_id")
    cluster = pd.read_csv(cluster_dir / "summary.csv").set_index("trial_id")
    trials = sorted(set(lab.index) & set(cluster.index))
    rows = []
    for metric in METRICS:
        diff = (cluster.loc[trials, metric] - lab.loc[trials, metric]).dropna()
        rows.append(
            {
                "metric": metric,
                "n": len(diff),
                "median": float(diff.median()) if len(diff) else math.nan,
                "min": float(diff.min()) if len(diff) else math.nan,
                "max": float(diff.max()) if len(diff) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lab", type=Path, help="run directory on the local platform")
    parser.add_argument("cluster", type=Path, help="run directory on the kubernetes platform")
    args = parser.parse_args()
    table = compare(
        pd.read_csv(args.lab / "summary.csv"), pd.read_csv(args.cluster / "summary.csv")
    )
    with pd.option_context("display.width", 160, "display.precision", 2):
        print(table.to_string(index=False))
    agreeing = (table["agree"] == "yes").sum()
    print(f"{agreeing}/{len(table)} within {TOLERANCE:.0%} or inside the interval")
    print("\nper trial, lab / cluster (the same repetition has the same planned sync phase):")
    print(paired(args.lab, args.cluster).to_string(index=False))
    print("\ncluster minus lab, trial by trial:")
    with pd.option_context("display.precision", 2):
        print(paired_differences(args.lab, args.cluster).to_string(index=False))


if __name__ == "__main__":
    main()
