"""Controller flags per variant on an hpalab cluster: the kubeconfig's server picks the
cluster, and kube-controller-manager restarts only when the flags differ."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hpalab.cluster import lifecycle
from hpalab.cluster.config import ClusterConfig, ControllerFlags
from hpalab.orchestration import clusters
from hpalab.specs.experiment import ControllerFlags as ControllerSpec


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ClusterConfig:
    monkeypatch.setenv("HPALAB_CLUSTER_DIR", str(tmp_path / "clusters"))
    config = ClusterConfig(name="c", index=5, kubernetes_version="v1.37.2")
    config.save()
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "x", "cluster": {"server": config.server}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "u"}}],
        "current-context": "x",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(path))
    return config


def test_the_hook_restarts_the_controller_manager_only_when_flags_change(cluster, monkeypatch):
    restarts: list[ControllerFlags] = []

    def restart(name: str, flags: ControllerFlags) -> ClusterConfig:
        restarts.append(flags)
        updated = cluster.with_controller(flags)
        updated.save()
        return updated

    monkeypatch.setattr(lifecycle, "restart_controller_manager", restart)
    hook = clusters.controller_hook(None)
    assert hook is not None
    wanted = ControllerSpec.model_validate({"syncPeriod": "2s", "tolerance": 0.05})
    recorded = hook(wanted)
    assert recorded["source"] == "set" and recorded["sync_period"] == 2.0
    assert set(recorded) == {"source", *clusters.FLAG_FIELDS}  # not the version or gates
    assert restarts[0].hpa_sync_period == "2s" and restarts[0].hpa_tolerance == 0.05
    hook(wanted)  # the same flags again: no restart
    assert len(restarts) == 1


def test_no_hook_for_a_cluster_hpalab_did_not_make(cluster, monkeypatch, tmp_path):
    other = tmp_path / "other"
    text = (tmp_path / "kubeconfig").read_text().replace(cluster.server, "https://10.0.0.1:6443")
    other.write_text(text)
    monkeypatch.setenv("KUBECONFIG", str(other))
    assert clusters.controller_hook(None) is None
