"""Resource names: Object metrics read the path the HPA controller reads (``<plural>.<group>``
from discovery), and the adapter's RBAC names plurals, Ingress included. Discovery itself runs
on the real API server: tests/cluster/test_kube_client.py."""

import pytest

from hpalab.platforms.kubernetes import render_adapter
from hpalab.platforms.kubernetes.metrics_api import metric_read, read_metric
from hpalab.platforms.kubernetes.resources import guess_plural, qualified


@pytest.mark.parametrize(
    ("name", "plural"),
    [
        ("Ingress", "ingresses"),
        ("ingresses", "ingresses"),
        ("IngressClass", "ingressclasses"),
        ("NetworkPolicy", "networkpolicies"),
        ("Gateway", "gateways"),
        ("Endpoints", "endpoints"),
        ("pod", "pods"),
        ("pods", "pods"),
        ("Deployment", "deployments"),
        ("Status", "statuses"),
    ],
)
def test_plurals_follow_kubernetes_own_rule(name, plural):
    assert guess_plural(name) == plural


def test_grouped_resources_are_qualified_as_the_hpa_controller_asks_for_them():
    assert qualified("ingresses", "networking.k8s.io/v1") == "ingresses.networking.k8s.io"
    assert qualified("pods", "v1") == "pods"


def _object_metric(kind: str, api_version: str) -> dict:
    return {
        "type": "Object",
        "object": {
            "describedObject": {"apiVersion": api_version, "kind": kind, "name": "main"},
            "metric": {"name": "requests_per_second"},
            "target": {"type": "Value", "value": "10"},
        },
    }


def test_an_object_metric_on_an_ingress_reads_the_path_discovery_names(api, client):
    api.load("discovery_networking_v1")  # captured from the real API server
    path = (
        "/apis/custom.metrics.k8s.io/v1beta1/namespaces/shop/"
        "ingresses.networking.k8s.io/main/requests_per_second"
    )
    read = metric_read(
        _object_metric("Ingress", "networking.k8s.io/v1"), namespace="shop", pod_selector=""
    )
    assert read.path == path  # the guess, before discovery
    assert read_metric(client, read) == (None, 0)  # no adapter here: the read is what counts
    assert [r.path for r in api.calls("GET")] == ["/apis/networking.k8s.io/v1", path]


def _spec_with_override(smoke_spec, target: dict):
    spec = smoke_spec.model_copy(deep=True)
    spec.adapter["rules"][0]["resources"]["overrides"]["ingress"] = target
    return spec


@pytest.mark.parametrize(
    "target",
    [
        {"group": "networking.k8s.io", "resource": "ingress"},
        {"group": "networking.k8s.io", "resource": "ingresses"},
        {"resource": "ingress"},
    ],
)
def test_adapter_rbac_grants_the_plural_of_an_ingress_override(smoke_spec, options, target):
    reader = render_adapter.rbac(_spec_with_override(smoke_spec, target), options)[1]["rules"]
    assert {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses"],
        "verbs": ["get", "list", "watch"],
    } in reader


def test_the_adapter_has_a_writable_tmp_under_its_read_only_root(smoke_spec, options):
    pod = render_adapter.deployment(smoke_spec, options)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]] == {"name": "tmp", "emptyDir": {}}


def test_both_versions_of_the_custom_metrics_api_are_registered_as_upstream_does(
    options, smoke_spec
):
    def registered(spec):
        return {
            (a["spec"]["group"], a["spec"]["version"]): a["spec"]["versionPriority"]
            for a in render_adapter.apiservices(spec, options)
        }

    custom = {
        ("custom.metrics.k8s.io", "v1beta1"): 100,
        ("custom.metrics.k8s.io", "v1beta2"): 200,
    }
    # The external metrics API only where the config has externalRules (the adapter serves it
    # only then).
    assert registered(smoke_spec) == custom
    rule = {"seriesQuery": "queue_depth", "metricsQuery": "sum(<<.Series>>)"}
    with_external = smoke_spec.model_copy(
        update={"adapter": {**smoke_spec.adapter, "externalRules": [rule]}}
    )
    assert registered(with_external) == {**custom, ("external.metrics.k8s.io", "v1beta1"): 100}
    assert render_adapter.unused_apiservices(smoke_spec) == ["v1beta1.external.metrics.k8s.io"]
