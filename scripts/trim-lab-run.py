"""Trim a real run directory to what simulator calibration and validation read.

Keeps experiment.lock.yaml, manifest.json, trials.csv, summary.csv and comparison.csv whole;
from events.csv the pod, HPA-decision and phase rows; from timeseries.csv the signals the
calibration reads (latency_p50_ms, achieved_rps, error_rate, ready_replicas). The result is a
few hundred kilobytes instead of tens of megabytes, small enough to ship as test data.

Run: .venv/bin/python scripts/trim-lab-run.py RUN_DIR OUT_DIR
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pandas as pd

from hpalab.simulation.calibration import LOW_LOAD_SECONDS

WHOLE = ("experiment.lock.yaml", "manifest.json", "trials.csv", "summary.csv", "comparison.csv")
EVENT_KINDS = ("pod_created", "pod_started", "pod_ready", "hpa_decision", "phase", "load_step")
SIGNALS = ("latency_p50_ms", "achieved_rps", "error_rate", "ready_replicas")


def trim(run_dir: Path, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=False)
    for name in WHOLE:
        shutil.copyfile(run_dir / name, out_dir / name)
    events = pd.read_csv(run_dir / "events.csv", keep_default_na=False)
    events = events[events["kind"].isin(EVENT_KINDS)]
    # a decision's detail (conditions, metrics) is not read by calibration
    events.loc[events["kind"] == "hpa_decision", "detail"] = ""
    events.to_csv(out_dir / "events.csv", index=False)
    series = pd.read_csv(run_dir / "timeseries.csv")
    series = series[series["signal"].isin(SIGNALS) & (series["t_s"] >= 0)]
    # calibration reads the median latency of the first seconds only (low load)
    late_latency = (series["signal"] == "latency_p50_ms") & (series["t_s"] >= LOW_LOAD_SECONDS)
    series = series[~late_latency]
    series.to_csv(out_dir / "timeseries.csv", index=False)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    trim(Path(sys.argv[1]), Path(sys.argv[2]))
