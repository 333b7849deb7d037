"""``spec.target`` and the ``fromCluster`` forms, where no cluster is needed to judge them: bad
input is exit 2 at file:line with a fix, and nothing runs. (What must be read from a cluster
is tested on the real one: tests/cluster/test_own_workload.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hpalab.cli.main import run
from hpalab.cli.specfiles import load_checked_experiment
from hpalab.platforms.kubernetes.saving import comparable
from hpalab.platforms.kubernetes.target import match_labels_selector, mounts_configmap
from tests.unit.specs.test_bad_inputs import VALID, check_edit

TARGET = (
    "  repetitions: 2\n  target:\n    kind: Deployment\n    name: checkout\n"
    "    namespace: shop\n    service: {name: checkout, port: http}\n"
    "    prometheus: {namespace: monitoring, service: prometheus}\n"
)

EDITS = [
    (
        "wrong-kind",
        "  repetitions: 2\n",
        TARGET.replace("kind: Deployment", "kind: DaemonSet"),
        36,
        ["spec.target.kind", "'Deployment' or 'StatefulSet'"],
    ),
    (
        "service-and-url",
        "  repetitions: 2\n",
        TARGET + "    url: http://checkout.example\n",
        35,
        ["spec.target", "exactly one of service (name and port) or url"],
    ),
    (
        "no-way-in",
        "  repetitions: 2\n",
        TARGET.replace("    service: {name: checkout, port: http}\n", ""),
        35,
        ["spec.target", "exactly one of service"],
    ),
    (
        "no-prometheus",
        "  repetitions: 2\n",
        TARGET.replace("    prometheus: {namespace: monitoring, service: prometheus}\n", ""),
        35,
        ["spec.target.prometheus", "is required"],
    ),
    (
        "hpa-from-cluster-without-cluster",
        "  hpa:\n    minReplicas: 1\n",
        "  hpa:\n    fromCluster: checkout\n    minReplicas: 1\n",
        7,
        ["spec.hpa.fromCluster", "needs the kubernetes platform", "--platform kubernetes"],
    ),
    (
        "adapter-from-cluster-without-cluster",
        "  adapter:\n    rules:\n",
        "  adapter:\n    fromCluster: {namespace: monitoring, configMap: adapter}\n    rules:\n",
        18,
        ["spec.adapter.fromCluster", "needs the kubernetes platform"],
    ),
]


@pytest.mark.parametrize("edit", EDITS, ids=[e[0] for e in EDITS])
def test_bad_input_is_reported_with_place_and_fix(capsys, write, edit):
    check_edit(capsys, write, edit)


def test_a_target_on_the_local_platform_is_refused_before_anything_starts(capsys, write, tmp_path):
    path = write(VALID.replace("  repetitions: 2\n", TARGET))
    assert run(["validate", str(path)]) == 0, capsys.readouterr().err
    out = tmp_path / "reports"
    code = run(["run", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{path}:35" in err and "spec.target names a workload on a cluster" in err
    assert "--platform kubernetes" in err
    assert not out.exists()


def test_the_cluster_example_is_valid_once_its_hpa_and_rules_are_read():
    """What examples/cluster/checkout.yaml reads from a cluster, filled in at the resolver seam
    (the real resolver is tested on a real cluster): the rest of the file and every variant's
    patch are valid."""
    example = Path(__file__).resolve().parents[3] / "examples" / "cluster" / "checkout.yaml"
    hpa = yaml.safe_load(VALID)["spec"]["hpa"]
    rules = yaml.safe_load(VALID)["spec"]["adapter"]

    def resolve(spec: dict[str, Any]) -> list[Any]:
        spec["hpa"], spec["adapter"] = dict(hpa), dict(rules)
        spec["target"]["adapterConfigMap"] = {"namespace": "monitoring", "configMap": "a"}
        return []

    loaded = load_checked_experiment(example, resolve=resolve)
    assert [v.name for v in loaded.variants] == ["as-is", "target-20", "fast-scale-up"]
    target = loaded.variant("target-20").spec.hpa.metrics[0].pods.target  # type: ignore[union-attr]
    assert target.average_value == "20"


def test_hpalab_restore_of_a_directory_without_saved_objects_is_bad_input(capsys, tmp_path):
    assert run(["restore", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no cluster-objects.json" in err and "Traceback" not in err


def test_the_workload_selector_and_the_adapter_deployments():
    workload = {
        "spec": {
            "selector": {
                "matchLabels": {"app": "checkout"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["web", "api"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                ],
            }
        }
    }
    assert match_labels_selector(workload) == "app=checkout,tier in (web,api),!canary"
    adapter = {"spec": {"template": {"spec": {"volumes": [{"configMap": {"name": "rules"}}]}}}}
    assert mounts_configmap(adapter, "rules") and not mounts_configmap(adapter, "other")


def test_restoring_compares_what_is_the_users_not_the_servers_bookkeeping():
    saved = {
        "metadata": {
            "name": "checkout",
            "namespace": "shop",
            "uid": "1",
            "resourceVersion": "10",
            "labels": {"team": "payments"},
            "annotations": {"deployment.kubernetes.io/revision": "3", "owner": "oncall"},
        },
        "spec": {"maxReplicas": 5},
        "status": {"currentReplicas": 2},
    }
    recreated = {
        **saved,
        "metadata": {
            **saved["metadata"],
            "uid": "2",
            "resourceVersion": "99",
            "annotations": {"deployment.kubernetes.io/revision": "5", "owner": "oncall"},
        },
        "status": {"currentReplicas": 4},
    }
    assert comparable(saved) == comparable(recreated)
    edited = {**saved, "spec": {"maxReplicas": 6}}
    assert comparable(saved) != comparable(edited)
    relabelled = {**saved, "metadata": {**saved["metadata"], "labels": {}}}
    assert comparable(saved) != comparable(relabelled)
