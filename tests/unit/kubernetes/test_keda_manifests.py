"""KEDA's kustomize tree rendered as its release: patches, labels, transformers, image tags."""

from __future__ import annotations

import io
import zipfile

import pytest

from hpalab.errors import PlatformError
from hpalab.platforms.kubernetes import keda, keda_manifests
from hpalab.platforms.kubernetes.objects import APP, StackOptions
from hpalab.specs import ExperimentSpec

MODULE, VERSION = "github.com/kedacore/keda/v2", "v2.20.2"
FILES = {
    "config/default/kustomization.yaml": (
        "transformers:\n- cfg/labels.yaml\nresources:\n- ../crd\n- ../manager\n"
    ),
    "config/default/cfg/labels.yaml": (
        "apiVersion: builtin\nkind: LabelTransformer\nmetadata: {name: l}\n"
        "labels: {app.kubernetes.io/version: main, app.kubernetes.io/part-of: keda-operator}\n"
    ),
    "config/crd/kustomization.yaml": (
        "resources:\n- crd.yaml\npatches:\n- path: p.yaml\n"
        "  target: {group: apiextensions.k8s.io, kind: CustomResourceDefinition, name: so}\n"
    ),
    "config/crd/crd.yaml": (
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
        "metadata: {name: so}\nspec: {versions: [{schema: {a: {required: [x]}, b: 1}}]}\n"
    ),
    "config/crd/p.yaml": (
        "- {op: add, path: /spec/versions/0/schema/a/required/-, value: y}\n"
        "- {op: remove, path: /spec/versions/0/schema/b}\n"
        "- {op: add, path: /spec/versions/0/schema/c, value: 3}\n"
    ),
    "config/manager/kustomization.yaml": (
        "resources:\n- manager.yaml\nlabels:\n- pairs: {team: k}\n  includeSelectors: true\n"
        "images:\n- {name: ghcr.io/kedacore/keda, newName: ghcr.io/kedacore/keda, newTag: main}\n"
    ),
    "config/manager/manager.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: keda-operator, labels: "
        "{app.kubernetes.io/version: latest}}\nspec:\n  selector: {matchLabels: {app: o}}\n"
        "  template:\n    metadata: {labels: {app: o}}\n    spec:\n      containers:\n"
        "      - {name: c, image: 'ghcr.io/kedacore/keda:latest'}\n"
    ),
}


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(f"{MODULE}@{VERSION}/{name}", text)
    return buffer.getvalue()


def test_the_tree_renders_as_the_release_does() -> None:
    crd, deployment = keda_manifests.render(_zip(FILES), MODULE, VERSION, "config/default")
    schema = crd["spec"]["versions"][0]["schema"]
    assert schema == {"a": {"required": ["x", "y"]}, "c": 3}
    assert crd["metadata"]["labels"]["app.kubernetes.io/part-of"] == "keda-operator"
    assert deployment["metadata"]["labels"]["app.kubernetes.io/version"] == "2.20.2"
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "o", "team": "k"}
    assert deployment["spec"]["template"]["metadata"]["labels"]["team"] == "k"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/kedacore/keda:2.20.2"


def test_an_unknown_kustomize_field_is_an_error() -> None:
    files = {**FILES, "config/default/kustomization.yaml": "namePrefix: x-\nresources: []\n"}
    with pytest.raises(PlatformError, match="namePrefix"):
        keda_manifests.render(_zip(files), MODULE, VERSION, "config/default")


def test_the_scaled_object_targets_the_app_and_the_stacks_prometheus() -> None:
    spec = ExperimentSpec.model_validate(
        {
            "keda": {
                "minReplicaCount": 1,
                "maxReplicaCount": 5,
                "triggers": [
                    {
                        "type": "prometheus",
                        "metadata": {
                            "serverAddress": "http://elsewhere:9090",
                            "query": "sum(rate(http_requests_total[30s]))",
                            "threshold": "10",
                        },
                    }
                ],
            },
            "load": {"stages": [{"type": "hold", "rps": 1, "duration": "10s"}]},
        }
    )
    body = keda.scaled_object(spec, StackOptions(namespace="lab", instance="lab"))
    assert body["metadata"]["name"] == "sample-app"
    assert body["spec"]["scaleTargetRef"]["name"] == APP
    assert body["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["name"] == APP
    metadata = body["spec"]["triggers"][0]["metadata"]
    assert metadata["serverAddress"] == "http://prometheus-operated.lab.svc:9090"
    assert spec.keda is not None and spec.keda.advanced is None, "the spec is left alone"
