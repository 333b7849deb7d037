"""Fidelity scenario files: every shipped one loads, and bad ones are exit 2 with the place."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.specs.fidelity import load_scenario, value_at

SHIPPED = sorted(Path(__file__).parents[2].joinpath("fidelity").glob("*.yaml"))

GOOD = """\
apiVersion: hpalab/v1
kind: FidelityScenario
metadata: {name: t}
spec:
  hpa:
    maxReplicas: 4
    metrics:
      - type: Pods
        pods:
          metric: {name: rps}
          target: {type: AverageValue, averageValue: "10"}
  initialReplicas: 1
  duration: 10s
  metrics:
    - name: rps
      timeline: [{at: 0s, value: "5"}, {at: 5s, value: "20"}]
"""


UPDATE = """\
  hpaUpdates:
    - at: {at}
      hpa:
        maxReplicas: 2
        metrics:
          - type: Pods
            pods:
              metric: {{name: rps}}
              target: {{type: AverageValue, averageValue: "5"}}"""


def test_hpa_updates_load_in_order(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(GOOD.replace("duration: 10s", f"duration: 10s\n{UPDATE.format(at='4s')}"))
    updates = load_scenario(file).spec.hpa_updates
    assert [(u.at, u.hpa.max_replicas) for u in updates] == [(4.0, 2)]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.metadata.name == path.stem


def test_at_least_forty_scenarios_are_shipped() -> None:
    assert len(SHIPPED) >= 40


def test_a_timeline_holds_each_value_from_its_time_on(tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(GOOD)
    timeline = load_scenario(file).spec.metrics[0].timeline
    assert [value_at(timeline, t) for t in (0, 4.9, 5, 60)] == ["5", "5", "20", "20"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("name: rps\n      timeline", "name: rpz\n      timeline"), "spec.metrics[0].name"),
        (('value: "20"', "value: twenty"), "spec.metrics[0].timeline[1].value"),
        (("initialReplicas: 1", "initialReplicas: 1\n  podStartp: 2s"), "spec.podStartp"),
        (("kind: FidelityScenario", "kind: Experiment"), "kind"),
        (("duration: 10s", f"duration: 10s\n{UPDATE.format(at='10s')}"), "spec.hpaUpdates[0].at"),
        (("maxReplicas: 4", "minReplicas: 0\n    maxReplicas: 4"), "spec.hpa.metrics"),
        (
            (
                "spec:\n  hpa:\n",
                'spec:\n  controller: {kubernetesVersion: "1.36"}\n  hpa:\n    minReplicas: 0\n',
            ),
            "spec.hpa.minReplicas",
        ),
        (
            ("spec:\n  hpa:\n", 'spec:\n  controller: {kubernetesVersion: "1.36"}\n  hpa:\n'),
            "spec.controller.kubernetesVersion: the cluster runs Kubernetes 1.37",
        ),
        (
            (
                "spec:\n  hpa:\n",
                "spec:\n  controller: {featureGates: {HPAGeneration: false}}\n  hpa:\n",
            ),
            "spec.controller.featureGates",
        ),
    ],
)
def test_bad_scenarios_are_exit_2_with_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: tuple[str, str], expected: str
) -> None:
    file = tmp_path / "s.yaml"
    file.write_text(GOOD.replace(*change))
    code = run(["fidelity", "hpa", str(file), "--cluster", "no-such-cluster"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{file}:" in err
    assert expected in err
    assert "Traceback" not in err
