"""spec.app.concurrency and queueLimit: the capacity they imply, and bad combinations."""

from __future__ import annotations

import re

import pytest
import yaml

from hpalab.cli.main import run
from hpalab.specs import capacity_rps, load_experiment


def _experiment(app: dict[str, object] | None = None) -> str:
    spec: dict[str, object] = {
        "hpa": {
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [
                {
                    "type": "Pods",
                    "pods": {
                        "metric": {"name": "http_requests_per_second"},
                        "target": {"type": "AverageValue", "averageValue": "10"},
                    },
                }
            ],
        },
        "adapter": {"rules": []},
        "load": {"stages": [{"type": "hold", "rps": 5, "duration": "1m"}]},
        "variants": [
            {"name": "base"},
            {"name": "target-20", "patch": {"hpa.metrics[0].pods.target.averageValue": "20"}},
        ],
    }
    if app is not None:
        spec["app"] = app
    document = {"apiVersion": "hpalab/v1", "kind": "Experiment", "metadata": {"name": "demo"}}
    return yaml.safe_dump({**document, "spec": spec}, sort_keys=False)


def test_capacity_follows_from_the_worker_slots(write):
    text = _experiment({"cpuPerRequest": "1ms", "latency": "199ms", "concurrency": 3})
    loaded = load_experiment(write(text))
    for variant in loaded.variants:
        assert capacity_rps(variant.spec) == pytest.approx(15.0)


def test_calibrated_capacity_wins_over_the_slots(write):
    text = _experiment({"latency": "100ms", "concurrency": 2, "capacityRps": 12})
    loaded = load_experiment(write(text))
    assert capacity_rps(loaded.variants[0].spec) == 12.0


def test_without_slots_the_hpa_target_is_the_capacity(write):
    loaded = load_experiment(write(_experiment()))
    assert [capacity_rps(v.spec) for v in loaded.variants] == [10.0, 20.0]


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        ({"latency": "10ms", "queueLimit": 5}, "queueLimit needs concurrency"),
        ({"latency": "10ms", "concurrency": 0}, "spec.app.concurrency"),
        ({"latency": "0s", "cpuPerRequest": "0s", "concurrency": 2}, "needs a service time"),
        ({"latency": "10ms", "concurrency": 2, "queueLimit": -1}, "spec.app.queueLimit"),
    ],
)
def test_bad_slot_settings_are_bad_input(capsys, write, app, expected):
    path = write(_experiment(app))
    code = run(["validate", str(path)])
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(rf"{re.escape(str(path))}:\d+(:\d+)?: ", output), output
    assert expected in output
