"""`hpalab run experiments/ci-smoke.yaml` with every real part: Prometheus, HAProxy, sample-app
replicas, Locust and the HPA engine. One flow covers an interrupt (no process left behind,
data kept, run marked incomplete), a resume that finishes the run, the run directory contract,
the HPA scaling up under load, and a rerun from the lock file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from hpalab.results import TABLES, read_manifest, read_table
from hpalab.results.schema import EVENTS, SUMMARY, TIMESERIES, TIMESERIES_SIGNALS, TRIALS

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HPALAB = [sys.executable, "-m", "hpalab.cli.main"]
SMOKE = REPO / "experiments" / "ci-smoke.yaml"


def _start(args: list[str], reaper) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*HPALAB, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    reaper.track_pid(proc.pid)
    return proc


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _interrupt_during_first_trial(proc: subprocess.Popen[str]) -> tuple[list[dict], list[int]]:
    """Read JSON events until the first trial is 10 s into its load; then SIGINT once."""
    events, pids = [], []
    deadline = time.monotonic() + 240
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if event["event"] == "tick" and event["t_s"] >= 10:
            pids = [p.pid for p in _descendants(proc.pid)]
            proc.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "the first trial never reached t = 10 s"
    return events, pids


def test_interrupt_resume_and_the_run_directory(tmp_path, reaper):
    out = tmp_path / "reports"
    proc = _start(["run", str(SMOKE), "--out", str(out), "--json"], reaper)
    events, pids = _interrupt_during_first_trial(proc)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert len(pids) >= 4, "expected Prometheus, HAProxy, replicas and Locust to be running"
    time.sleep(0.5)
    alive = [
        pid
        for pid in pids
        if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    ]
    assert not alive, f"processes left behind: {alive}"

    run_dir = Path(events[0]["run_dir"])
    if not run_dir.is_absolute():
        run_dir = REPO / run_dir
    manifest = read_manifest(run_dir)
    assert manifest is not None and manifest.status == "incomplete"
    assert "interrupted" in manifest.reasons
    kept = read_table(run_dir, TIMESERIES)
    assert not kept.empty, "the data collected before the interrupt must be kept"
    assert "resume with" in stderr or "resume with" in stdout

    resumed = subprocess.run(
        [*HPALAB, "run", "--resume", str(run_dir), "--quiet"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=400,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    _check_run_directory(run_dir)
    _check_scaling(run_dir)
    _check_sync_phase(run_dir)
    _check_lock_reruns(run_dir, tmp_path)


def _check_run_directory(run_dir: Path) -> None:
    manifest = read_manifest(run_dir)
    assert manifest is not None and manifest.status == "complete"
    assert manifest.platform["platform"] == "local"
    assert {"prometheus", "python", "controller"} <= set(manifest.platform)
    for table in TABLES:
        header = (run_dir / table.filename).read_text().splitlines()[0].split(",")
        assert header[: len(table.names)] == list(table.names), table.filename
    assert (run_dir / "report.html").stat().st_size > 0
    assert (run_dir / "experiment.lock.yaml").is_file()
    trials = read_table(run_dir, TRIALS)
    assert sorted(trials["status"]) == ["complete", "complete"]
    signals = set(read_table(run_dir, TIMESERIES)["signal"])
    assert set(TIMESERIES_SIGNALS) <= signals, set(TIMESERIES_SIGNALS) - signals
    summary = read_table(run_dir, SUMMARY)
    assert len(summary) == 2
    assert not list(run_dir.glob(".work*")), "no working files in the run directory"


def _check_scaling(run_dir: Path) -> None:
    series = read_table(run_dir, TIMESERIES)
    events = read_table(run_dir, EVENTS)
    baseline = series[series.trial_id == "target-8#1"]
    ready = baseline[baseline.signal == "ready_replicas"]["value"]
    assert ready.max() >= 2, "the HPA should have scaled up under the ramp to 30 rps"
    assert ready.iloc[0] == 1
    trial_events = events[events.trial_id == "target-8#1"]
    assert (trial_events.kind == "hpa_rescale").any()
    assert (trial_events.kind == "pod_ready").any(), "new pods should have become Ready"
    offered = baseline[baseline.signal == "offered_rps"]["value"]
    achieved = baseline[baseline.signal == "achieved_rps"]["value"]
    assert abs(achieved.sum() - offered.sum()) / offered.sum() < 0.1


def _check_sync_phase(run_dir: Path) -> None:
    """Each trial's load started at its planned phase of the HPA's 2 s sync cycle: every sync
    of the trial comes ``hpa_sync_offset_s`` before a multiple of 2 s of trial time."""
    events = read_table(run_dir, EVENTS)
    for trial_id, rows in events.groupby("trial_id"):
        load = rows[(rows.kind == "phase") & (rows.t_s == 0.0)]
        offset = json.loads(load["detail"].iloc[0])["hpa_sync_offset_s"]
        assert 0 <= offset < 2.0
        syncs = rows[rows.kind == "hpa_decision"]["t_s"].astype(float)
        assert len(syncs) >= 10, trial_id
        for t_s in syncs:
            off = (t_s + offset) % 2.0
            assert min(off, 2.0 - off) < 0.1, (trial_id, t_s, offset)


def _check_lock_reruns(run_dir: Path, tmp_path: Path) -> None:
    lock = run_dir / "experiment.lock.yaml"
    planned = subprocess.run(
        [*HPALAB, "run", str(lock), "--dry-run"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    ).stdout
    assert "target-8#1" in planned and "target-15#1" in planned
    rerun = subprocess.run(
        [
            *HPALAB,
            "run",
            str(lock),
            "--only",
            "target-15",
            "--out",
            str(tmp_path / "again"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
        env={**os.environ},
    )
    assert rerun.returncode == 0, rerun.stderr
    (again,) = (tmp_path / "again").iterdir()
    assert read_table(again, TRIALS)["trial_id"].tolist() == ["target-15#1"]
    assert read_manifest(again).spec_hash
