"""`hpalab tune --confirm 1` on the local platform: the knee runs for real (Prometheus,
HAProxy, sample-app replicas, Locust, the HPA engine) and its measured objectives are put
beside the simulated ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from hpalab.results import read_manifest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "experiments" / "ci-smoke.yaml"


def test_confirm_one_candidate_on_the_local_platform(tmp_path, reaper):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hpalab.cli.main",
            "tune",
            str(SMOKE),
            "--param",
            "hpa.metrics[0].pods.target.averageValue=6..16",
            "--budget",
            "4",
            "--repetitions",
            "2",
            "--confirm",
            "1",
            "--confirm-repetitions",
            "1",
            "--out",
            str(tmp_path),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    reaper.track_pid(proc.pid)
    _, stderr = proc.communicate(timeout=400)
    # 3: a real result left its simulated interval (flagged); both are a finished confirmation
    assert proc.returncode in (0, 3), stderr
    (tuning,) = [p for p in tmp_path.iterdir() if p.name.endswith("-tune")]
    table = pd.read_csv(tuning / "confirm.csv")
    assert set(table["objective"]) == {"slo_violation_s", "cost_replica_s", "time_to_capacity_s"}
    assert (table["real_n"] == 1).all()
    cost = table[table["objective"] == "cost_replica_s"].iloc[0]
    assert cost["real_median"] > 0 and cost["simulated_median"] > 0
    assert (proc.returncode == 3) == bool(table["outside"].any())
    (run_dir,) = [p for p in tuning.iterdir() if p.is_dir()]
    manifest = read_manifest(run_dir)
    assert manifest is not None and manifest.platform["platform"] == "local"
    assert (run_dir / "report.html").is_file()
    trials = pd.read_csv(run_dir / "trials.csv")
    assert list(trials["variant"]) == [table["variant"].iloc[0]]
