"""`hpalab fidelity adapter` on the real prometheus-adapter: a few shipped configs (the seed
walkthrough's, overrides to services, seriesFilters, external rules with `namespaced: false`),
each answered the same by the real adapter and by the engine: metric list, PromQL, values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.cluster.config import ClusterConfig
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
        yield cluster
    finally:
        down = hpalab(cluster, "down", "--platform", "kubernetes", "--namespace", NAMESPACE)
        assert down.returncode == 0, down.stdout + down.stderr


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
