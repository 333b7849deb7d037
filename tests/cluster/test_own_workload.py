"""An experiment on a workload hpalab did not create (spec.target, hpa.fromCluster,
adapter.fromCluster) on the real cluster: what it changes is put back exactly, whether the run
ends by itself, is stopped with SIGTERM, or is killed and `hpalab restore` finishes the job;
and what it cannot find is bad input, at the line."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig
from hpalab.platforms.kubernetes.saving import comparable
from tests.cluster.conftest import cpu_hpa, deployment, sample_app, wait_for
from tests.cluster.test_kubernetes_platform import hpalab

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "tests" / "cluster" / "data" / "own-workload.yaml"
STACK = "hpalab-own"
SHOP = "shop"
ADAPTER = "prometheus-adapter"
SMOKE = "experiments/ci-smoke.yaml"


def _kubectl(cluster: ClusterConfig, *args: str, stdin: str | None = None) -> str:
    return addons.kubectl(cluster, *args, stdin=stdin, timeout_s=60)


def _get(cluster: ClusterConfig, namespace: str, kind: str, name: str) -> dict[str, Any] | None:
    """The object, or ``None`` while it does not exist (the run deletes the HPA between
    trials)."""
    out = _kubectl(cluster, "-n", namespace, "get", kind, name, "-o", "json", "--ignore-not-found")
    return dict(json.loads(out)) if out.strip() else None


def _state(cluster: ClusterConfig) -> dict[str, Any]:
    """What the run may change, as restoring must give it back."""
    workload = _get(cluster, SHOP, "deployment", "checkout") or {}
    return {
        "hpa": comparable(_get(cluster, SHOP, "hpa", "checkout")),
        "configmap": comparable(_get(cluster, STACK, "configmap", f"{ADAPTER}-config")),
        "adapter": comparable(_get(cluster, STACK, "deployment", ADAPTER)),
        "replicas": workload["spec"]["replicas"],
    }


def _bytes(state: dict[str, Any]) -> bytes:
    return json.dumps(state, sort_keys=True).encode()


def _shop_objects() -> list[dict[str, Any]]:
    app = deployment(
        "checkout",
        sample_app(cpu_per_request="5ms", resources={"requests": {"cpu": "100m"}}),
        replicas=2,
    )
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "checkout", "labels": {"team": "payments"}},
        "spec": {
            "type": "NodePort",
            "selector": {"app": "checkout"},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
        },
    }
    hpa = cpu_hpa("checkout", min_replicas=2, max_replicas=5, utilization=60, scale_down_window=30)
    hpa["metadata"] |= {"labels": {"team": "payments"}, "annotations": {"owner": "oncall"}}
    return [app, service, hpa]


@pytest.fixture(scope="module")
def shop(cluster: ClusterConfig) -> Iterator[ClusterConfig]:
    """A monitoring stack (someone else's, as far as the run goes) and the shop's workload,
    applied with kubectl as its owners would."""
    up = hpalab(cluster, "up", "--platform", "kubernetes", "--namespace", STACK, SMOKE)
    assert up.returncode == 0, up.stdout + up.stderr
    _kubectl(cluster, "create", "namespace", SHOP)
    text = "\n---\n".join(yaml.safe_dump(o) for o in _shop_objects())
    _kubectl(cluster, "-n", SHOP, "apply", "-f", "-", stdin=text)
    wait_for(
        lambda: (
            (_get(cluster, SHOP, "deployment", "checkout") or {})
            .get("status", {})
            .get("readyReplicas")
            == 2
        ),
        timeout_s=180,
        what="checkout ready",
    )
    try:
        yield cluster
    finally:
        _kubectl(cluster, "delete", "namespace", SHOP, "--wait=false")
        down = hpalab(cluster, "down", "--platform", "kubernetes", "--namespace", STACK)
        assert down.returncode == 0, down.stdout + down.stderr


def _start_run(cluster: ClusterConfig, out: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
    argv = [sys.executable, "-m", "hpalab.cli.main", "run", str(EXPERIMENT)]
    argv += ["--platform", "kubernetes", "--out", str(out), "--quiet"]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, text=True, start_new_session=True, stdout=subprocess.PIPE
    )


def _changed(cluster: ClusterConfig, before: dict[str, Any]) -> bool:
    """The run's second variant is in place: the HPA and the adapter's rules differ."""
    now = _state(cluster)
    return now["hpa"] != before["hpa"] and now["configmap"] != before["configmap"]


def test_the_variants_run_on_the_workload_and_everything_is_put_back(
    shop: ClusterConfig, tmp_path: Path
) -> None:
    before = _state(shop)
    done = hpalab(shop, "run", str(EXPERIMENT), "--platform", "kubernetes", "--out", str(tmp_path))
    assert done.returncode in (0, 3), done.stdout + done.stderr
    # the diff of each variant is shown first
    assert "variant target-30:" in done.stderr and "averageUtilization: 30" in done.stderr
    (run_dir,) = tmp_path.iterdir()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["platform"]["target"] == "Deployment shop/checkout"
    report = (run_dir / "report.html").read_text()
    assert "Deployment shop/checkout" in report
    assert manifest["platform"]["kubernetes_version"] in report
    with (run_dir / "trials.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 2
    with (run_dir / "timeseries.csv").open() as f:
        rows = list(csv.DictReader(f))
    ready = [float(r["value"]) for r in rows if r["signal"] == "ready_replicas"]
    assert min(ready) >= 2  # the workload's own replicas, observed through its selector
    record = json.loads((run_dir / "cluster-objects.json").read_text())
    assert record["restored_at"]
    assert "token" not in json.dumps(record).lower()
    assert _bytes(_state(shop)) == _bytes(before)


def _stop_mid_run(shop: ClusterConfig, out: Path, sig: signal.Signals) -> Path:
    """Start a run; once a trial of its changed variant is under way, send ``sig``: SIGTERM
    to hpalab, SIGKILL to its whole process group (a crash: nothing of hpalab cleans up)."""
    before = _state(shop)
    run = _start_run(shop, out)
    try:
        wait_for(lambda: _changed(shop, before), timeout_s=300, what="a variant applied")
        wait_for(lambda: any(out.glob("*/timeseries.csv")), timeout_s=300, what="a trial under way")
        time.sleep(3)
        if sig == signal.SIGKILL:
            os.killpg(run.pid, signal.SIGKILL)
        else:
            run.send_signal(sig)
        run.wait(timeout=180)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
    (run_dir,) = out.iterdir()
    return run_dir


def test_sigterm_mid_run_restores_and_keeps_the_data(shop: ClusterConfig, tmp_path: Path) -> None:
    before = _state(shop)
    run_dir = _stop_mid_run(shop, tmp_path, signal.SIGTERM)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "incomplete" and manifest["reasons"][0] == "interrupted"
    assert (run_dir / "timeseries.csv").stat().st_size > 0  # the data so far is kept
    assert _bytes(_state(shop)) == _bytes(before)


def test_a_killed_run_is_restored_by_hpalab_restore(shop: ClusterConfig, tmp_path: Path) -> None:
    before = _state(shop)
    run_dir = _stop_mid_run(shop, tmp_path, signal.SIGKILL)
    assert _bytes(_state(shop)) != _bytes(before)  # the kill left the variant's changes
    restored = hpalab(shop, "restore", str(run_dir))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored" in restored.stdout
    wait_for(
        lambda: _state(shop)["replicas"] == before["replicas"], timeout_s=60, what="replicas back"
    )
    assert _bytes(_state(shop)) == _bytes(before)
    again = hpalab(shop, "restore", str(run_dir))  # safe to repeat
    assert again.returncode == 0 and "nothing to restore" in again.stdout, again.stdout


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("target.name", "no-such-app", "Deployment shop/no-such-app is not on the cluster"),
        ("target.service.port", "grpc", "Service shop/checkout has no port 'grpc'"),
        ("hpa.fromCluster", "no-such-hpa", "HPA shop/no-such-hpa is not on the cluster"),
        ("target.kind", "DaemonSet", "target.kind"),
    ],
)
def test_what_is_not_on_the_cluster_is_bad_input(
    shop: ClusterConfig, tmp_path: Path, path: str, value: str, expected: str
) -> None:
    data = yaml.safe_load(EXPERIMENT.read_text())
    node = data["spec"]
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, sort_keys=False))
    before = _state(shop)
    done = hpalab(shop, "run", str(bad), "--platform", "kubernetes", "--out", str(tmp_path / "r"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stderr and f"{bad}:" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()  # nothing started, nothing written
    assert _bytes(_state(shop)) == _bytes(before)
