"""scripts/lab_vs_cluster.py on two small run directories written here."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "lab_vs_cluster.py"
spec = importlib.util.spec_from_file_location("lab_vs_cluster", SCRIPT)
assert spec is not None and spec.loader is not None
lab_vs_cluster = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lab_vs_cluster)


def _run(path: Path, detection: list[float], offsets: list[float | None]) -> Path:
    path.mkdir()
    trials = [f"v#{r}" for r in range(1, len(detection) + 1)]
    pd.DataFrame(
        {
            "trial_id": trials,
            "variant": "v",
            "detection_latency_s": detection,
            "time_to_capacity_s": [48.0] * len(trials),
            "cost_replica_s": [1800.0] * len(trials),
        }
    ).to_csv(path / "summary.csv", index=False)
    rows = []
    for trial, offset in zip(trials, offsets, strict=True):
        detail = {"phase": "load"} | ({} if offset is None else {"hpa_sync_offset_s": offset})
        rows.append((trial, 0.0, "phase", "trial", json.dumps(detail)))
        rows.append((trial, 30.0, "load_step", "load", "{}"))
    pd.DataFrame(rows, columns=["trial_id", "t_s", "kind", "object", "detail"]).to_csv(
        path / "events.csv", index=False
    )
    return path


def test_medians_agree_within_ten_percent_and_trials_pair_by_phase(tmp_path):
    lab = _run(tmp_path / "lab", [10.0, 4.0, 13.0], [5.0, 11.0, 2.0])
    cluster = _run(tmp_path / "cluster", [10.2, 4.1, 13.3], [5.0, 11.0, 2.0])
    table = lab_vs_cluster.compare(
        pd.read_csv(lab / "summary.csv"), pd.read_csv(cluster / "summary.csv")
    ).set_index("metric")
    assert table.loc["detection_latency_s", "lab"] == 10.0
    assert table.loc["detection_latency_s", "cluster"] == 10.2
    assert set(table["agree"]) == {"yes"}
    pairs = lab_vs_cluster.paired(lab, cluster).set_index("trial")
    assert pairs.loc["v#2", "phase lab/cluster"] == "11.00/11.00"
    assert pairs.loc["v#3", "detection_latency_s"] == "13.00 / 13.30"
    diffs = lab_vs_cluster.paired_differences(lab, cluster).set_index("metric")
    assert diffs.loc["detection_latency_s", "median"] == pytest.approx(0.2)
    assert diffs.loc["detection_latency_s", "max"] == pytest.approx(0.3)
    assert diffs.loc["cost_replica_s", "median"] == 0


def test_unaligned_trials_have_no_phase(tmp_path):
    run = _run(tmp_path / "lab", [10.0, 12.0], [None, 3.5])
    assert lab_vs_cluster.sync_offsets(run) == {"v#2": 3.5}
