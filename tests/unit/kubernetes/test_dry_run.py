"""`hpalab up --platform kubernetes --dry-run`: every object as one YAML stream, no cluster."""

import io

import pytest
import yaml

from hpalab.platforms.kubernetes import lifecycle
from hpalab.platforms.kubernetes.render_monitoring import PASSWORD_PLACEHOLDER
from tests.unit.kubernetes.conftest import EXPERIMENTS
from tests.unit.kubernetes.fakeapi import RECORDINGS
from tests.unit.kubernetes.test_manifests import VERSIONS, validate

pytestmark = pytest.mark.usefixtures("stand_in_upstream")

UPSTREAM = RECORDINGS.parent / "data" / "upstream"


def _no_kubeconfig(monkeypatch, tmp_path):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))


def test_dry_run_prints_every_object_without_a_kubeconfig(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    out = io.StringIO()
    result = lifecycle.up(EXPERIMENTS / "ramp.yaml", dry_run=True, out=out)
    docs = [d for d in yaml.safe_load_all(out.getvalue()) if d]
    assert docs == result.objects
    kinds = {d["kind"] for d in docs}
    assert {
        "Namespace",
        "Deployment",
        "Service",
        "ServiceMonitor",
        "Prometheus",
        "ConfigMap",
        "Secret",
        "APIService",
        "ClusterRole",
        "HorizontalPodAutoscaler",
    } <= kinds
    assert (
        out.getvalue().count("# step: ") == 6
    )  # no upstream files here: their steps are announced
    assert "prometheus-operator v0.81.0: from https://github.com/" in out.getvalue()
    for doc in docs:
        assert validate(doc, VERSIONS[-1]) == []


def test_dry_run_never_prints_a_password(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    out = io.StringIO()
    lifecycle.up(EXPERIMENTS / "ci-smoke.yaml", dry_run=True, out=out)
    docs = [d for d in yaml.safe_load_all(out.getvalue()) if d]
    secrets = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Secret"}
    assert secrets["grafana-admin"]["stringData"]["admin-password"] == PASSWORD_PLACEHOLDER
    assert set(secrets["prometheus-adapter-tls"]["stringData"].values()) == {"<generated on apply>"}
    assert "PRIVATE KEY" not in out.getvalue()


def test_dry_run_includes_upstream_files_from_the_manifests_dir(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    out = io.StringIO()
    result = lifecycle.up(
        EXPERIMENTS / "ci-smoke.yaml",
        dry_run=True,
        out=out,
        manifests_dir=UPSTREAM,
        context="kind-hpalab",
    )
    names = [(o["kind"], o["metadata"]["name"]) for o in result.objects]
    assert names.index(
        ("CustomResourceDefinition", "prometheuses.monitoring.coreos.com")
    ) < names.index(("Prometheus", "hpalab"))
    metrics_server = next(
        o
        for o in result.objects
        if o["metadata"]["name"] == "metrics-server" and o["kind"] == "Deployment"
    )
    assert (
        "--kubelet-insecure-tls"
        in metrics_server["spec"]["template"]["spec"]["containers"][0]["args"]
    )
    assert "not downloaded" not in out.getvalue()


def test_dry_run_without_an_experiment_deploys_no_hpa(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    result = lifecycle.up(None, dry_run=True, out=io.StringIO(), namespace="lab2")
    assert "HorizontalPodAutoscaler" not in {o["kind"] for o in result.objects}
    assert all(
        o["metadata"].get("namespace") in (None, "lab2", "kube-system") for o in result.objects
    )


def test_dry_run_output_is_deterministic(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    outs = []
    for _ in range(2):
        out = io.StringIO()
        lifecycle.up(EXPERIMENTS / "ramp.yaml", dry_run=True, out=out)
        outs.append(out.getvalue())
    assert outs[0] == outs[1]


def _without_app_source(text: str) -> list[dict]:
    """The stream's objects; the sample app's embedded source is left out, so an edit of the
    app does not make the example stale (its keys and paths are still compared)."""
    docs = [d for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "sampleapp-source":
            doc["data"] = dict.fromkeys(doc["data"], "")
    return docs


def test_the_shipped_example_stream_is_up_to_date(monkeypatch, tmp_path):
    _no_kubeconfig(monkeypatch, tmp_path)
    out = io.StringIO()
    lifecycle.up(EXPERIMENTS / "ramp.yaml", dry_run=True, out=out)
    shipped = (EXPERIMENTS.parent / "manifests" / "ramp.yaml").read_text()
    assert _without_app_source(shipped) == _without_app_source(out.getvalue()), (
        "regenerate manifests/ramp.yaml (see manifests/README.md)"
    )
