"""KEDA v2.20.2 on the real cluster: the real operator, metrics apiserver and admission webhooks
built from KEDA's module (``hpalab cluster build --with keda``), driven by `hpalab run` with a
ci-smoke-sized experiment whose variants switch the external metrics API from
prometheus-adapter to KEDA and back. Marked ``keda``: `make fidelity` runs it, `make test`
does not (KEDA's build alone is longer than the rest of the test command)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpalab.cluster import addons, building
from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.versions import pins
from tests.cluster.conftest import NAME
from tests.cluster.test_kubernetes_platform import ROOT, _rows, hpalab

pytestmark = pytest.mark.keda

NAMESPACE = "hpalab-keda"
EXPERIMENT = "tests/cluster/data/keda-smoke.yaml"


@pytest.fixture(scope="module")
def keda_built() -> None:
    building.build(list(pins()["keda"].programs))


@pytest.mark.timeout(1500)  # a fresh cluster: the whole stack, KEDA, then two trials
def test_a_keda_variant_scales_through_the_real_keda_and_gives_the_api_back(
    cluster: ClusterConfig, keda_built: None, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    done = hpalab(
        cluster, "run", EXPERIMENT, "--platform", "kubernetes", "--namespace", NAMESPACE,
        "--out", str(out), "--quiet", timeout_s=1500,
    )  # fmt: skip
    assert done.returncode in (0, 3), done.stdout + done.stderr
    (run_dir,) = out.iterdir()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "complete"
    trials = {t["trial_id"]: t for t in _rows(run_dir / "trials.csv")}
    assert {t["status"] for t in trials.values()} <= {"complete", "load_shortfall"}
    series = _rows(run_dir / "timeseries.csv")
    for variant in ("adapter", "keda"):
        ids = {i for i, t in trials.items() if t["variant"] == variant}
        mine = [r for r in series if r["trial_id"] in ids]
        desired = [float(r["value"]) for r in mine if r["signal"] == "desired_replicas"]
        metric = [float(r["value"]) for r in mine if r["signal"] == "metric_value" and r["value"]]
        assert max(desired) > 1, f"{variant}: the HPA never scaled up"
        assert max(metric) > 0, f"{variant}: no metric value served"
    # KEDA is up, its HPA and ScaledObject are gone, and the external metrics API is no
    # longer KEDA's (the adapter's config has no external rules, so nobody serves it)
    for deployment in ("keda-operator", "keda-metrics-apiserver", "keda-admission"):
        ready = addons.kubectl(
            cluster, "-n", "keda", "get", "deployment", deployment,
            "-o", "jsonpath={.status.readyReplicas}",
        )  # fmt: skip
        assert ready == "1", deployment
    left = addons.kubectl(cluster, "-n", NAMESPACE, "get", "scaledobjects,hpa", "-o", "name")
    assert left.strip() == ""
    apis = addons.kubectl(cluster, "get", "apiservices", "-o", "name")
    assert "v1beta1.external.metrics.k8s.io" not in apis


@pytest.mark.timeout(1200)
def test_fidelity_keda_finds_no_disagreement(cluster: ClusterConfig, keda_built: None) -> None:
    """`hpalab fidelity keda` on every shipped ScaledObject, on the stack the run left."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests/fidelity/keda").glob("*.yaml"))
    assert len(files) >= 10
    done = hpalab(
        cluster, "fidelity", "keda", *files, "--cluster", NAME, "--namespace", NAMESPACE,
        "--json", timeout_s=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(records) == len(files)
    assert sum(r["disagreements"] for r in records) == 0
    assert all(r["hpa_fields"] > 10 for r in records)
    watched = [r for r in records if r["transitions"]]
    assert watched and {t[0] for t in watched[0]["transitions"]} == {"activate", "deactivate"}


def test_down_removes_keda_too(cluster: ClusterConfig, keda_built: None) -> None:
    done = hpalab(cluster, "down", "--platform", "kubernetes", "--namespace", NAMESPACE)
    assert done.returncode == 0, done.stdout + done.stderr
    left = addons.kubectl(
        cluster, "get",
        "all,crds,apiservices,validatingwebhookconfigurations,clusterroles,clusterrolebindings",
        "-A", "-l", "app.kubernetes.io/managed-by=hpalab", "-o", "name",
    )  # fmt: skip
    assert left.strip() == ""
