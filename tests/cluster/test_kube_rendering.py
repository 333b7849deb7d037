"""The real API server accepts what hpalab renders for prometheus-adapter (server-side apply
with dryRun=All: validated and admitted, nothing stored), including both custom metrics
APIService versions and the /tmp volume. The adapter itself cannot run on this cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpalab.cluster.config import ClusterConfig
from hpalab.platforms.kubernetes import render_adapter
from hpalab.platforms.kubernetes.client import (
    APPLY_CONTENT_TYPE,
    KubeClient,
    load_api_client,
    object_path,
)
from hpalab.platforms.kubernetes.objects import FIELD_MANAGER, StackOptions
from hpalab.specs import load_experiment
from tests.cluster.conftest import Kube

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(cluster: ClusterConfig) -> KubeClient:
    return KubeClient(load_api_client(context=None, config_file=cluster.kubeconfig), timeout_s=20)


def test_the_adapters_objects_are_accepted_by_the_api_server(
    kube: Kube, client: KubeClient
) -> None:
    loaded = load_experiment(ROOT / "experiments" / "ci-smoke.yaml")
    spec = loaded.variant(loaded.baseline).spec
    options = StackOptions(namespace=kube.namespace, instance=kube.namespace)
    objects = render_adapter.adapter_objects(spec, options)
    accepted = {}
    for body in objects:
        answer = client.call(
            "PATCH",
            object_path(body),
            query={"fieldManager": FIELD_MANAGER, "force": "true", "dryRun": "All"},
            body=body,
            content_type=APPLY_CONTENT_TYPE,
        )
        assert answer is not None
        accepted[(answer["kind"], answer["metadata"]["name"])] = answer
    versions = {
        name: a["spec"]["versionPriority"]
        for (kind, name), a in accepted.items()
        if kind == "APIService"
    }
    # ci-smoke has no externalRules: no external metrics APIService.
    assert versions == {
        "v1beta1.custom.metrics.k8s.io": 100,
        "v1beta2.custom.metrics.k8s.io": 200,
    }
    pod = accepted[("Deployment", "prometheus-adapter")]["spec"]["template"]["spec"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
    # dry run: nothing was stored
    assert (
        client.get("/apis/apiregistration.k8s.io/v1/apiservices/v1beta2.custom.metrics.k8s.io")
        is None
    )
