"""`hpalab fidelity hpa` on the real controller: a few shipped scenarios (one per metric
source, a scale to zero and back, and an HPA edited while it runs), each decided the same,
sync for sync, by the real HPA controller and by the engine, which also agree on when a new
or changed HPA is first synced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.cluster import lifecycle
from hpalab.cluster.config import ClusterConfig
from tests.cluster.conftest import CONTROLLER

SCENARIOS = Path(__file__).parents[1] / "fidelity"
SUBSET = (
    "pods-scale-up",
    "object-value-terminating",
    "external-average-value",
    "resource-cpu-utilization",
    "pod-level-requests",
    "external-scale-to-zero",
    "hpa-spec-change",
)


def test_the_engine_decides_like_the_real_controller(
    cluster: ClusterConfig, capsys: pytest.CaptureFixture[str]
) -> None:
    files = [str(SCENARIOS / f"{name}.yaml") for name in SUBSET]
    try:
        code = run(["fidelity", "hpa", *files, "--cluster", cluster.name, "--json"])
    finally:
        # the scenarios set their own controller flags; the other tests expect the session's
        lifecycle.restart_controller_manager(cluster.name, CONTROLLER)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in records] == list(SUBSET)
    for record in records:
        # every sync of the run was seen and compared, and the controller scaled
        assert len(record["syncs"]) >= 8, record["name"]
        desired = {s["real_desired"] for s in record["syncs"]}
        assert len(desired) > 1, f"{record['name']}: the HPA never changed its mind"
        disagreeing = [s for s in record["syncs"] if s["differences"]]
        assert disagreeing == [], f"{record['name']}: {disagreeing}"
        # the first sync of the new HPA, and one after each edit, came when the engine said
        events = [t["event"] for t in record["timing"]]
        assert events[0] == "created", record["name"]
        assert [t for t in record["timing"] if t["difference"]] == [], record["name"]
    assert [t["event"] for t in records[-1]["timing"]] == ["created", "changed", "changed"]
    assert code == 0
