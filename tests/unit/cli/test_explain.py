"""`hpalab explain`: readable and JSON explanations, traces, and bad inputs."""

import json
from pathlib import Path

from hpalab.cli.main import run

ROOT = Path(__file__).resolve().parents[3]
RAMP = ROOT / "experiments" / "ramp.yaml"

HPA = """\
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
    - type: External
      external:
        metric: {name: queue_depth}
        target: {type: AverageValue, averageValue: "30"}
  behavior:
    scaleDown: {stabilizationWindowSeconds: 60}
"""


def test_explains_the_ramp_experiment(capsys):
    assert (
        run(["explain", str(RAMP), "--value", "http_requests_per_second=25", "--replicas", "3"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Tolerance band" in out
    assert "http_requests_per_second" in out
    assert "ScaleUpLimit" in out
    assert "desired replicas 7" in out  # 8 proposed, +4 pods per 15s allowed


def test_json_output_for_a_kubernetes_hpa(tmp_path, capsys):
    path = tmp_path / "hpa.yaml"
    path.write_text(HPA)
    code = run(
        [
            "explain",
            str(path),
            "--value",
            "cpu=90%",
            "--value",
            "queue_depth=240",
            "--replicas",
            "4",
            "--json",
        ]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    proposals = {m["name"]: m["proposal"] for m in data["metrics"]}
    assert proposals == {"cpu": 8, "queue_depth": 8}
    assert data["desired_replicas"] == 8
    assert data["behavior"] == "spec.behavior"


def test_per_pod_values_and_a_bare_spec(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(
        "maxReplicas: 5\nmetrics:\n  - type: Pods\n"
        "    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: '10'}}\n"
    )
    assert run(["explain", str(path), "--pods", "5,5,5,5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["current_replicas"] == 4
    assert data["desired_replicas"] == 2
    assert data["metrics"][0]["current"] == "5"


def test_trace_prints_the_replica_timeline(tmp_path, capsys):
    trace = tmp_path / "trace.csv"
    trace.write_text("t_s,http_requests_per_second\n0,10\n30,40\n")
    assert run(["explain", str(RAMP), "--trace", str(trace), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["t_s"] for r in rows] == [0.0, 15.0, 30.0]
    assert rows[-1]["desired"] == 4
    assert run(["explain", str(RAMP), "--trace", str(trace)]) == 0
    assert "Replica timeline" in capsys.readouterr().out


def test_bad_inputs_exit_2_with_a_hint(tmp_path, capsys):
    assert run(["explain", str(tmp_path / "none.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("maxReplicas: [1,\n")
    assert run(["explain", str(broken)]) == 2
    assert "broken.yaml:2:1: YAML syntax error" in capsys.readouterr().err
    other = tmp_path / "other.yaml"
    other.write_text("kind: ConfigMap\n")
    assert run(["explain", str(other)]) == 2
    assert "hint:" in capsys.readouterr().err
    assert run(["explain", str(RAMP), "--value", "novalue"]) == 2
    assert "expected NAME=VALUE" in capsys.readouterr().err
    bad_trace = tmp_path / "t.csv"
    bad_trace.write_text("time,x\n1,2\n")
    assert run(["explain", str(RAMP), "--trace", str(bad_trace)]) == 2
    assert "t_s" in capsys.readouterr().err


def test_unknown_metric_is_reported(capsys):
    assert run(["explain", str(RAMP), "--value", "nope=1"]) == 2
    assert "no metric named 'nope'" in capsys.readouterr().err


def test_non_utf8_spec_and_trace_are_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"maxReplicas: \xff\n")
    assert run(["explain", str(bad)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    good = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"
    assert run(["explain", str(good), "--trace", str(bad)]) == 2
    assert "cannot read the trace" in capsys.readouterr().err


def test_bad_values_are_usage_errors(capsys):
    assert run(["explain", str(RAMP), "--value", "http_requests_per_second=abc"]) == 2
    err = capsys.readouterr().err
    assert "'abc' is not a quantity" in err and "500m" in err
    assert run(["explain", str(RAMP), "--pods", "1,2,x"]) == 2
