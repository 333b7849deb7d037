"""hpalab keda convert: adapter rules + HPA -> ScaledObject triggers, warnings, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hpalab.autoscaling.keda.convert import ConversionError, Workload, convert
from hpalab.cli.main import run
from hpalab.specs import load_experiment
from hpalab.specs.keda.model import ScaledObjectSpec
from hpalab.specs.keda.problems import keda_problems

REPO = Path(__file__).resolve().parents[3]
PODS_RULE = {
    "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
    "resources": {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    },
    "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[2m])) by (<<.GroupBy>>)",
}
QUEUE_RULE = {
    "seriesQuery": '{__name__="queue_depth",topic!=""}',
    "resources": {"namespaced": False},
    "metricsQuery": "<<.Series>>{<<.LabelMatchers>>}",
}
INGRESS_RULE = {
    "seriesQuery": 'nginx_requests_total{namespace!="",ingress!=""}',
    "resources": {
        "overrides": {
            "namespace": {"resource": "namespace"},
            "ingress": {"group": "networking.k8s.io", "resource": "ingress"},
        }
    },
    "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
}
WEB = Workload("web", "shop")


def _pods(target="500m"):
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": "http_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": target},
        },
    }


def test_a_pods_metric_becomes_one_total_with_the_same_per_pod_threshold():
    hpa = {"minReplicas": 2, "maxReplicas": 10, "metrics": [_pods()]}
    result = convert(hpa, {"rules": [PODS_RULE]}, workload=WEB)
    [trigger] = result.spec["triggers"]
    assert trigger["metricType"] == "AverageValue"
    assert trigger["metadata"]["threshold"] == "0.5"
    assert trigger["metadata"]["query"] == (
        'sum(rate(http_requests_total{namespace="shop",pod=~"web-.*"}[2m])) by ()'
    )
    assert (result.spec["minReplicaCount"], result.spec["maxReplicaCount"]) == (2, 10)
    codes = {w.code for w in result.warnings}
    assert {"per_pod_vs_total", "pods_without_series", "rate_window"} <= codes
    assert "multiple_series" not in codes


def test_external_rules_keep_value_targets_and_warn_when_not_namespaced():
    external = {
        "type": "External",
        "external": {
            "metric": {"name": "queue_depth", "selector": {"matchLabels": {"topic": "orders"}}},
            "target": {"type": "Value", "value": "30"},
        },
    }
    result = convert(
        {"maxReplicas": 5, "metrics": [external]}, {"externalRules": [QUEUE_RULE]}, workload=WEB
    )
    [trigger] = result.spec["triggers"]
    assert trigger["metricType"] == "Value" and trigger["metadata"]["threshold"] == "30"
    assert trigger["metadata"]["query"] == 'sum(queue_depth{topic="orders"})'
    assert [w.code for w in result.warnings] == ["not_namespaced", "multiple_series"]


def test_object_metrics_resources_and_behavior_pass_through():
    obj = {
        "type": "Object",
        "object": {
            "describedObject": {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "name": "shop",
            },
            "metric": {"name": "nginx_requests_per_second"},
            "target": {"type": "AverageValue", "averageValue": "20"},
        },
    }
    cpu = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
    }
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    hpa = {"maxReplicas": 8, "metrics": [obj, cpu], "behavior": behavior}
    result = convert(hpa, {"rules": [INGRESS_RULE]}, workload=WEB)
    prom, resource = result.spec["triggers"]
    assert prom["metadata"]["query"] == (
        'sum(rate(nginx_requests_total{namespace="shop",ingress="shop"}[1m])) by ()'
    )
    assert resource == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
    assert result.spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == behavior
    assert keda_problems(ScaledObjectSpec.model_validate(result.spec, by_alias=True)) == []


def test_a_metric_no_rule_serves_is_an_error():
    with pytest.raises(ConversionError, match="no adapter rule serves the Pods metric"):
        convert({"maxReplicas": 2, "metrics": [_pods()]}, {"rules": []}, workload=WEB)


@pytest.mark.parametrize("path", sorted(REPO.glob("experiments/*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_experiment_converts_into_a_valid_side_by_side_experiment(
    path, capsys, tmp_path
):
    assert run(["keda", "convert", str(path), "--experiment"]) == 0
    captured = capsys.readouterr()
    out = tmp_path / path.name
    out.write_text(captured.out)
    loaded = load_experiment(out)
    adapter, keda = (v.spec for v in loaded.variants)
    assert adapter.keda is None and keda.keda is not None
    original = load_experiment(path).experiment.spec.hpa
    assert keda.hpa.min_replicas == original.min_replicas
    assert keda.hpa.max_replicas == original.max_replicas
    assert "warning:" in captured.err


def test_a_scaled_object_ready_to_apply_from_an_adapter_config(tmp_path, capsys):
    config = tmp_path / "adapter.yaml"
    config.write_text(yaml.safe_dump({"rules": [PODS_RULE]}))
    hpa = tmp_path / "hpa.yaml"
    hpa.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "autoscaling/v2",
                "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": "web",
                    },
                    "maxReplicas": 10,
                    "metrics": [_pods("2")],
                },
            }
        )
    )
    assert run(["keda", "convert", str(config), "--hpa", str(hpa), "--namespace", "shop"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    assert document["kind"] == "ScaledObject" and document["metadata"]["name"] == "web"
    assert document["spec"]["triggers"][0]["metadata"]["threshold"] == "2"


def test_bad_inputs_exit_2_with_the_place_and_the_fix(tmp_path, capsys):
    config = tmp_path / "adapter.yaml"
    config.write_text(yaml.safe_dump({"rules": [PODS_RULE]}))
    assert run(["keda", "convert", str(config)]) == 2
    assert "--hpa" in capsys.readouterr().err
    hpa = tmp_path / "hpa.yaml"
    target = "{type: Utilization, averageUtilization: 5}"
    cpu = f"  - {{type: Resource, resource: {{name: cpu, target: {target}}}}}\n"
    hpa.write_text("minReplicas: 5\nmaxReplicas: 3\nmetrics:\n" + cpu)
    assert run(["keda", "convert", str(config), "--hpa", str(hpa), "--workload", "web"]) == 2
    err = capsys.readouterr().err
    assert f"{hpa}:2:" in err and "maxReplicas" in err and "Traceback" not in err
    pods = "{metric: {name: nope}, target: {type: AverageValue, averageValue: '1'}}"
    hpa.write_text(f"maxReplicas: 3\nmetrics:\n  - type: Pods\n    pods: {pods}\n")
    assert run(["keda", "convert", str(config), "--hpa", str(hpa), "--workload", "web"]) == 2
    assert "no adapter rule serves the Pods metric 'nope'" in capsys.readouterr().err
    assert run(["keda", "convert", str(tmp_path / "missing.yaml")]) == 2
