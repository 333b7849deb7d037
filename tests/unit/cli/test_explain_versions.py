"""`hpalab explain --kubernetes-version`: the version's decision and how it differs."""

import json

from hpalab.cli.main import run

TOLERANT_HPA = """\
minReplicas: 1
maxReplicas: 20
metrics:
  - type: Pods
    pods:
      metric: {name: rps}
      target: {type: AverageValue, averageValue: "10"}
behavior:
  scaleUp: {tolerance: 0.01}
"""


def _explain(tmp_path, capsys, *args: str) -> tuple[int, str]:
    path = tmp_path / "hpa.yaml"
    path.write_text(TOLERANT_HPA)
    code = run(["explain", str(path), "--value", "rps=10.5", "--replicas", "10", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_an_alpha_version_ignores_the_per_direction_tolerance(tmp_path, capsys):
    code, out = _explain(tmp_path, capsys, "--kubernetes-version", "1.34")
    assert code == 0
    assert (
        "Kubernetes 1.34 (HPAConfigurableTolerance=off, HPAScaleToZero=off, PodLevelResources=on)"
        in out
    )
    assert "Against 1.37:" in out
    assert "behavior.scaleUp/scaleDown.tolerance: honoured in 1.37, ignored in 1.34" in out
    assert "desired replicas 10 (rescale: False)" in out
    assert "in 1.37: desired replicas 11" in out


def test_the_default_is_the_newest_version(tmp_path, capsys):
    code, out = _explain(tmp_path, capsys)
    assert code == 0
    assert "Kubernetes 1.37" in out
    assert "Against" not in out
    assert "ScaledToZero=False NotScaledToZero" in out
    assert "desired replicas 11" in out


def test_json_carries_the_comparison(tmp_path, capsys):
    code, out = _explain(tmp_path, capsys, "--kubernetes-version", "1.35", "--json")
    assert code == 0
    kube = json.loads(out)["kubernetes"]
    assert kube["version"] == "1.35"
    assert kube["gates"] == {
        "HPAConfigurableTolerance": True,
        "HPAScaleToZero": False,
        "PodLevelResources": True,
    }
    assert kube["compared_with"]["version"] == "1.37"
    assert kube["compared_with"]["desired_replicas"] == 11


def test_an_unknown_version_is_bad_input(tmp_path, capsys):
    code, out = _explain(tmp_path, capsys, "--kubernetes-version", "1.30")
    assert code == 2
    assert "unknown Kubernetes version '1.30'" in out
    assert "Traceback" not in out
