"""hpalab simulate: the load driver's schedule, determinism, the run directory contract,
calibration from a run, and bad input."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hpalab.cli.main import run
from hpalab.load.arrivals import arrival_times
from hpalab.results import read_manifest
from hpalab.results.schema import TIMESERIES_SIGNALS
from hpalab.simulation.calibration import fit
from hpalab.simulation.schedule import Intensity
from hpalab.specs import load_experiment

ROOT = Path(__file__).resolve().parents[3]
RAMP = ROOT / "experiments" / "ramp.yaml"
CSV_FILES = ("timeseries.csv", "events.csv", "prometheus.csv", "summary.csv", "comparison.csv")


@pytest.mark.parametrize("process", ["poisson", "uniform"])
def test_arrivals_are_the_load_drivers_to_the_last_bit(process):
    curve = load_experiment(RAMP).curve()
    fast = Intensity.of(curve).arrivals(process=process, seed=42)
    slow = np.array(list(arrival_times(curve, process=process, seed=42)))
    assert len(fast) > 10_000
    assert np.array_equal(fast, slow)


def _simulate(out: Path, *extra: str) -> Path:
    code = run(["simulate", str(RAMP), "--repetitions", "1", "--out", str(out), *extra])
    assert code == 0
    (path,) = [p for p in out.iterdir() if p.is_dir()]
    return path


def test_same_seed_same_run_directory(tmp_path):
    first = _simulate(tmp_path / "a", "--jobs", "1")
    second = _simulate(tmp_path / "b", "--jobs", "2")
    for name in (*CSV_FILES, "experiment.lock.yaml"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    trials = [
        pd.read_csv(p / "trials.csv").drop(columns=["started_at", "ended_at"])
        for p in (first, second)
    ]
    pd.testing.assert_frame_equal(*trials)


def test_the_run_directory_is_a_run_that_report_and_compare_read(tmp_path, capsys):
    path = _simulate(tmp_path)
    manifest = read_manifest(path)
    assert manifest is not None and manifest.status == "complete"
    assert manifest.platform["platform"] == "simulation"
    assert manifest.platform["calibration"]["source"] == "defaults"
    trials = pd.read_csv(path / "trials.csv")
    assert sorted(trials["variant"]) == sorted(v.name for v in load_experiment(RAMP).variants)
    assert set(trials["status"]) == {"complete"}
    events = pd.read_csv(path / "events.csv")
    assert set(TIMESERIES_SIGNALS) <= set(pd.read_csv(path / "timeseries.csv")["signal"])
    assert {"hpa_decision", "hpa_rescale", "pod_created", "pod_ready", "load_step"} <= set(
        events["kind"]
    )
    summary = pd.read_csv(path / "summary.csv")
    # the ramp overloads one replica before the HPA reacts: the SLO is violated, and the
    # replicas come and go
    assert (summary["slo_violation_s"] > 0).all()
    assert (summary["max_replicas"] > 5).all() and (summary["reversals"] >= 1).all()
    capsys.readouterr()
    assert run(["compare", str(path), "--format", "json"]) == 0
    assert "cost_replica_s" in capsys.readouterr().out
    assert (path / "report.html").stat().st_size > 10_000


def _real_like_run(tmp_path: Path) -> Path:
    """A run directory as `hpalab run` writes it, with the parts calibration reads."""
    path = tmp_path / "20260101T000000Z-ramp"
    path.mkdir()
    lock = load_experiment(RAMP).experiment.to_yaml_dict()
    lock["spec"]["load"] = {"stages": [{"type": "hold", "rps": 5, "duration": "10s"}]}
    import yaml

    (path / "experiment.lock.yaml").write_text(yaml.safe_dump(lock))
    rows = []
    for trial, offset in (("a#1", 3.0), ("a#2", 8.0)):
        for t in range(-10, 60):
            rows.append((trial, t, "latency_p50_ms", 204.0))
            hot = 20 <= t < 40
            rows += [
                (trial, t, "achieved_rps", 40.0 if hot else 5.0),
                (trial, t, "error_rate", 0.5 if hot else 0.0),
                (trial, t, "ready_replicas", 1.0),
            ]
        events = [
            (trial, offset, "hpa_decision", "hpa/sample-app", "{}"),
            (trial, 30.0, "pod_created", "p1", ""),
            (trial, 33.5 + offset / 10, "pod_ready", "p1", ""),
        ]
        pd.DataFrame(events, columns=["trial_id", "t_s", "kind", "object", "detail"]).to_csv(
            path / "events.csv", mode="a", header=trial == "a#1", index=False
        )
    pd.DataFrame(rows, columns=["trial_id", "t_s", "signal", "value"]).to_csv(
        path / "timeseries.csv", index=False
    )
    manifest = {
        "hpalab_version": "0",
        "experiment": "ramp",
        "started_at": "2026-01-01T00:00:00Z",
        "status": "complete",
        "platform": {"platform": "local"},
        "spec_hash": "0",
        "seed": 1,
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


def test_calibration_fits_startup_capacity_overhead_and_sync_phase(tmp_path):
    from hpalab.simulation import calibrate_from_run

    calibration = calibrate_from_run(_real_like_run(tmp_path))
    assert calibration.startup_s == (pytest.approx(3.8), pytest.approx(4.3))
    # saturated seconds: 40 responses/s, half of them errors, one replica: 20 requests/s
    # with 3 slots is a 150 ms service time, against 200 ms configured
    assert calibration.service_factor == pytest.approx(0.75)
    assert calibration.client_overhead_s == pytest.approx(0.054)
    assert calibration.sync_phase == (pytest.approx(0.2), pytest.approx(8 / 15, abs=1e-4))
    assert any("capacity: 20.00 requests/s" in line for line in calibration.describe())


def test_simulate_prints_what_it_calibrated(tmp_path, capsys):
    source = _real_like_run(tmp_path)
    out = tmp_path / "sim"
    assert (
        run(
            [
                "simulate",
                str(RAMP),
                "--repetitions",
                "1",
                "--out",
                str(out),
                "--calibrate",
                str(source),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"calibrated from {source.name}" in err and "start-up to Ready" in err
    (path,) = list(out.iterdir())
    assert read_manifest(path).platform["calibration"]["source"] == source.name


def test_fit_without_saturation_keeps_the_configured_service_time():
    timeseries = pd.DataFrame(
        [("x#1", t, "latency_p50_ms", 210.0) for t in range(10)],
        columns=["trial_id", "t_s", "signal", "value"],
    )
    events = pd.DataFrame(columns=["trial_id", "t_s", "kind", "object", "detail"])
    calibration = fit(
        events=events,
        timeseries=timeseries,
        source="x",
        platform="local",
        sync_period_s=15,
        app_service_s=0.2,
        concurrency=3,
    )
    assert calibration.service_factor == 1.0 and calibration.startup_s == ()
    assert calibration.client_overhead_s == pytest.approx(0.010)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--calibrate", "{tmp}"], "not a run directory"),
        (["--repetitions", "0"], "--repetitions"),
        (["--jobs", "0"], "--jobs"),
    ],
)
def test_bad_arguments_are_bad_input(tmp_path, capsys, args, expected):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code = run(["simulate", str(RAMP), "--out", str(tmp_path / "o"), *argv])
    captured = capsys.readouterr()
    assert code == 2
    assert expected in captured.err + captured.out
    assert "Traceback" not in captured.err
    assert not (tmp_path / "o").exists()


EXTERNAL = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: external
spec:
  hpa:
    minReplicas: 1
    maxReplicas: 5
    metrics:
      - type: External
        external:
          metric:
            name: queue_depth
          target:
            type: Value
            value: "30"
  adapter:
    externalRules:
      - seriesQuery: 'queue_depth{namespace!=""}'
        resources: {namespaced: false}
        metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>})'
  load:
    stages:
      - {type: hold, rps: 5, duration: 30s}
"""


def test_an_experiment_the_simulator_cannot_model_is_refused(tmp_path, capsys):
    path = tmp_path / "ext.yaml"
    path.write_text(EXTERNAL)
    assert run(["validate", str(path)]) == 0
    code = run(["simulate", str(path), "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 2, captured.err
    assert "does not model External metrics" in captured.err
    assert not (tmp_path / "o").exists()


CPU = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: cpu
spec:
  hpa:
    minReplicas: 1
    maxReplicas: 10
    metrics:
      - type: Resource
        resource:
          name: cpu
          target: {type: Utilization, averageUtilization: 50}
  adapter: {rules: []}
  controller: {syncPeriod: 5s, cpuInitializationPeriod: 10s, initialReadinessDelay: 5s}
  app:
    cpuPerRequest: 10ms
    latency: 0s
    startupDelay: 1s
    resources: {requests: {cpu: 100m}}
  load:
    arrivals: {process: uniform}
    stages:
      - {type: hold, rps: 20, duration: 90s}
  phases: {warmup: 5s, warmupRps: 1, cooldown: 0s}
"""


def test_cpu_utilization_comes_from_busy_time(tmp_path):
    # 20 requests/s × 10 ms = 200m of CPU against a 100m request at a 50 % target: the HPA
    # needs 200m / (50 % × 100m) = 4 replicas (the early, young-pod readings may overshoot,
    # and the 300 s downscale stabilization keeps the overshoot)
    path = tmp_path / "cpu.yaml"
    path.write_text(CPU)
    code = run(["simulate", str(path), "--out", str(tmp_path / "o"), "--repetitions", "1"])
    assert code == 0
    (out,) = list((tmp_path / "o").iterdir())
    series = pd.read_csv(out / "timeseries.csv")
    ready = series[series["signal"] == "ready_replicas"].set_index("t_s")["value"]
    assert ready.iloc[0] == 1 and ready.iloc[-1] in (4, 5)
    utilization = series[series["signal"] == "metric_value"].set_index("t_s")["value"]
    # busy time is conserved: the replicas' utilization adds up to 200 % of one request
    total = (utilization * ready).loc[60:]
    assert total.between(180, 220).all(), total.describe()


def test_the_calibration_learns_sync_phases_only_from_unaligned_trials():
    from hpalab.simulation.calibration import _sync_phases

    events = pd.DataFrame(
        [
            ("a#1", 0.0, "phase", '{"phase": "load"}'),
            ("a#1", 3.0, "hpa_decision", "{}"),
            ("a#2", 0.0, "phase", '{"phase": "load", "hpa_sync_offset_s": 7.0}'),
            ("a#2", 8.0, "hpa_decision", "{}"),  # planned: 15 - 7 s after second 0
        ],
        columns=["trial_id", "t_s", "kind", "detail"],
    )
    assert _sync_phases(events, 15.0) == [pytest.approx(0.2)]
