"""`hpalab fidelity keda`'s pure parts: the shipped ScaledObjects load, bad files are refused
with their place, and the comparisons count what differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.errors import SpecError
from hpalab.fidelity import keda_compare
from hpalab.fidelity.keda_objects import load

SHIPPED = sorted((Path(__file__).resolve().parents[2] / "fidelity" / "keda").glob("*.yaml"))


def test_at_least_ten_scaled_objects_ship_and_all_load() -> None:
    assert len(SHIPPED) >= 10
    names = set()
    for path in SHIPPED:
        item = load(path, target="sampleapp", prometheus="http://p:9090")
        assert item.spec["scaleTargetRef"]["name"] == "sampleapp"
        assert all(
            t["metadata"]["serverAddress"] == "http://p:9090" for t in item.prometheus_triggers()
        )
        assert item.engine_hpa().hpa is not None
        names.add(item.name)
    assert len(names) == len(SHIPPED), "each ScaledObject has its own name"


def test_a_scaled_object_keda_would_refuse_is_bad_input_with_its_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "kind: ScaledObject\nmetadata: {name: bad}\nspec:\n"
        "  minReplicaCount: 5\n  maxReplicaCount: 2\n"
        "  triggers:\n  - type: prometheus\n    metadata: {query: up, threshold: '1'}\n"
    )
    with pytest.raises(SpecError) as error:
        load(path, target="sampleapp", prometheus="http://p:9090")
    assert f"{path}:" in str(error.value)
    assert run(["fidelity", "keda", str(path)]) == 2


def test_hpa_fields_are_compared_one_by_one() -> None:
    real = {"metadata": {"name": "h", "labels": {"a": "1"}}, "spec": {"maxReplicas": 5}}
    engine = {"metadata": {"name": "h", "labels": {"a": "2"}}, "spec": {"maxReplicas": 5}}
    result = keda_compare.ObjectComparison("x")
    keda_compare.compare_hpa(real, engine, result)
    assert result.hpa_fields == 4  # with the (empty) annotations
    assert result.differences == ["hpa metadata.labels.a: real '1', engine '2'"]


def test_the_engine_loop_activates_and_deactivates_after_the_cooldown() -> None:
    spec = {"minReplicaCount": 0, "cooldownPeriod": 10, "pollingInterval": 5}
    values = [0, 0, 1, 1, 0, 0, 0, 0, 0]
    polls = [keda_compare.Poll(0.5 + 5.0 * i, (float(v),)) for i, v in enumerate(values)]
    found = keda_compare.engine_transitions(spec, polls, activation_thresholds=[0.5], replicas=1)
    # inactive at the first poll with no initial cooldown: to zero at once; active at the
    # third; last active at 15.5 s, so cooled down once more than 10 s have passed: at 30.5 s
    assert found == [("deactivate", 0.5), ("activate", 10.5), ("deactivate", 30.5)]


def test_transitions_agree_within_one_polling_interval() -> None:
    real = keda_compare.real_transitions([(0.0, 1), (0.5, 0), (12.0, 0), (12.5, 1), (40.0, 0)])
    assert real == [("deactivate", 0.5), ("activate", 12.5), ("deactivate", 40.0)]
    engine = [("deactivate", 0.0), ("activate", 10.0), ("deactivate", 30.0)]
    result = keda_compare.ObjectComparison("x")
    keda_compare.compare_transitions(real, engine, polling_interval_s=5, result=result)
    assert result.differences == ["deactivate at 40.0 s, engine 30.0 s: more than 5 s apart"]
