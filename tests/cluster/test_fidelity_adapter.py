"""`hpalab fidelity adapter` on the real prometheus-adapter: a few shipped configs (the seed
walkthrough's, overrides to services, seriesFilters, external rules with `namespaced: false`),
each answered the same by the real adapter and by the engine: metric list, PromQL, values."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.cluster import addons
from hpalab.cluster.config import ClusterConfig
from tests.cluster.conftest import wait_for
from tests.cluster.test_kubernetes_platform import hpalab

CONFIGS = Path(__file__).parents[1] / "fidelity" / "adapter"
SUBSET = (
    "seed-walkthrough",
    "overrides-service",
    "series-filters-is",
    "external-namespaced-false",
)
NAMESPACE = "hpalab-fidad"


@pytest.fixture(scope="module")
def stack(cluster: ClusterConfig) -> Iterator[ClusterConfig]:
    """A stack without an experiment: no HPA whose queries would mix with the checked ones."""
    up = hpalab(cluster, "up", "--platform", "kubernetes", "--namespace", NAMESPACE)
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        # the sample app's request counter exists from its first request on
        wait_for(lambda: _requested(cluster), timeout_s=120, what="http_requests_total scraped")
        yield cluster
    finally:
        down = hpalab(cluster, "down", "--platform", "kubernetes", "--namespace", NAMESPACE)
        assert down.returncode == 0, down.stdout + down.stderr


def _requested(cluster: ClusterConfig) -> bool:
    for _ in range(3):
        with urllib.request.urlopen(f"http://{cluster.node_ip}:30080/", timeout=5) as answer:
            answer.read()
    proxy = f"/api/v1/namespaces/{NAMESPACE}/services/prometheus-operated:9090/proxy"
    found = addons.kubectl(
        cluster, "get", "--raw", f"{proxy}/api/v1/series?match[]=http_requests_total"
    )
    return bool(json.loads(found)["data"])


def test_the_engine_answers_like_the_real_adapter(
    stack: ClusterConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(CONFIGS / f"{name}.yaml") for name in SUBSET]
    args = ["--cluster", stack.name, "--namespace", NAMESPACE, "--json"]
    code = run(["fidelity", "adapter", *files, *args])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [Path(r["config"]).stem for r in records] == list(SUBSET)
    for record in records:
        name = record["config"]
        assert record["real_metrics"], f"{name}: the real adapter exposed nothing"
        assert record["real_metrics"] == record["engine_metrics"], name
        assert record["requests"], name
        for request in record["requests"]:
            # every request made Prometheus run exactly the engine's query
            assert request["real_query"] is not None, (name, request)
            assert request["differences"] == [], (name, request)
        assert record["disagreements"] == 0, name
    assert code == 0
