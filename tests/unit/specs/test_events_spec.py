"""spec.events: every bad timeline or type is exit 2 with file:line, field and fix."""

from __future__ import annotations

import re

import pytest

from hpalab.cli.main import run
from hpalab.specs import load_experiment
from hpalab.specs.events import KillPods, killed_count

HEAD = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: faults
spec:
  hpa:
    minReplicas: 1
    maxReplicas: 5
    metrics:
      - type: Pods
        pods:
          metric: {name: http_requests_per_second}
          target: {type: AverageValue, averageValue: "10"}
  adapter:
    rules: []
  load:
    stages:
      - {type: hold, duration: 60s, rps: 5}
  phases: {warmup: 0s, cooldown: 20s}
  variants:
    - name: base
    - name: late
      patch:
        events: [{type: adapterOutage, at: 50s, duration: 10s}]
  events:
"""


def _validate(capsys, write, events: str, *extra: str) -> tuple[int, str]:
    path = write(HEAD + events)
    code = run(["validate", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_valid_timeline_loads_with_every_type(write):
    path = write(
        HEAD
        + """\
    - {type: killPods, at: 10s, count: 2}
    - {type: killPods, at: 15s, fraction: 0.5}
    - {type: prometheusOutage, at: 20s, duration: 10s}
    - {type: prometheusOutage, at: 30s, duration: 5s}
    - {type: adapterOutage, at: 20s, duration: 10s}
    - {type: metricsServerOutage, at: 5s, duration: 10s}
    - {type: scrapeDelay, at: 40s, duration: 10s, delay: 3s}
    - {type: appSlowdown, at: 40s, duration: 10s, latency: 50ms, cpu: 1ms}
"""
    )
    loaded = load_experiment(path)
    events = loaded.variant("base").spec.events
    assert [e.type for e in events][:3] == ["killPods", "killPods", "prometheusOutage"]
    assert events[6].delay == 3.0  # type: ignore[union-attr]
    # the variant's patch replaced the list
    assert loaded.variant("late").spec.events[0].type == "adapterOutage"


@pytest.mark.parametrize(
    ("events", "line", "expected"),
    [
        (
            "    - {type: killPods, at: 90s, count: 1}\n",
            26,
            ["spec.events[0].at", "after the trial ends", "1m20s"],
        ),
        (
            "    - {type: prometheusOutage, at: 70s, duration: 30s}\n",
            26,
            ["spec.events[0].duration", "lasts until 1m40s", "shorten the duration"],
        ),
        (
            "    - {type: adapterOutage, at: 10s, duration: 30s}\n"
            "    - {type: adapterOutage, at: 20s, duration: 5s}\n",
            27,
            ["spec.events[1].at", "overlaps events[0]", "same component (adapter)"],
        ),
        (
            "    - {type: cpuHog, at: 10s}\n",
            26,
            ["spec.events[0]", "unknown type 'cpuHog'", "killPods"],
        ),
        (
            "    - {type: killPods, at: 10s}\n",
            26,
            ["spec.events[0]", "exactly one of count or fraction"],
        ),
        (
            "    - {type: appSlowdown, at: 10s, duration: 5s}\n",
            26,
            ["spec.events[0]", "latency and/or cpu"],
        ),
        (
            "    - {type: scrapeDelay, at: 10s, duration: 5s, dely: 2s}\n",
            26,
            ["spec.events[0].dely", "unknown field", "did you mean 'delay'"],
        ),
    ],
    ids=[
        "after-end",
        "ends-after-end",
        "overlap",
        "unknown-type",
        "no-amount",
        "no-slowdown",
        "typo",
    ],
)
def test_bad_events_exit_2_with_file_line(capsys, write, events, line, expected):
    code, output = _validate(capsys, write, events)
    assert code == 2, output
    assert re.search(rf"exp\.yaml:{line}:\d+: ", output), output
    for text in expected:
        assert text in output
    assert "Traceback" not in output


def test_a_variant_that_moves_an_event_past_the_end_is_reported_at_the_variant(capsys, write):
    path = write(
        HEAD.replace("at: 50s, duration: 10s", "at: 70s, duration: 30s")
        + "    - {type: killPods, at: 10s, count: 1}\n"
    )
    code = run(["validate", str(path)])
    output = "".join(capsys.readouterr())
    assert code == 2
    assert re.search(
        r"exp\.yaml:22:7: spec\.variants\[1\]: variant 'late' makes "
        r"spec\.events\[0\]\.duration invalid",
        output,
    ), output


@pytest.mark.parametrize(
    ("event", "command", "expected"),
    [
        (
            "{type: prometheusOutage, at: 10s, duration: 5s}",
            ["run", "--platform", "kubernetes", "--dry-run"],
            "the kubernetes platform cannot inject prometheusOutage: only on a cluster whose "
            "node hpalab runs (`hpalab cluster`)",
        ),
        (
            "{type: networkDelay, at: 10s, duration: 5s, delay: 50ms}",
            ["validate", "--platform", "kubernetes"],
            "the kubernetes platform cannot inject networkDelay: only on a cluster whose node "
            "hpalab runs (`hpalab cluster`)",
        ),
        (
            "{type: networkDelay, at: 10s, duration: 5s, delay: 50ms}",
            ["validate", "--platform", "local"],
            "the local platform cannot inject networkDelay: the local platform runs every "
            "process in one network namespace",
        ),
    ],
)
def test_events_a_platform_cannot_inject_are_refused(
    capsys, write, event, command, expected, monkeypatch, tmp_path
):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # not an hpalab cluster
    path = write(HEAD + f"    - {event}\n")
    code = run([command[0], str(path), *command[1:]])
    output = "".join(capsys.readouterr())
    assert code == 2
    assert re.search(r"exp\.yaml:26:8: spec\.events\[0\]\.type: " + re.escape(expected), output)
    assert "Traceback" not in output


def test_validate_checks_the_platform_only_when_asked(capsys, write):
    path = write(HEAD + "    - {type: killPods, at: 10s, count: 1}\n")
    assert run(["validate", str(path), "--platform", "local"]) == 0
    assert run(["validate", str(path), "--platform", "kubernetes"]) == 0
    delay = write(HEAD + "    - {type: networkDelay, at: 10s, duration: 5s, delay: 50ms}\n")
    assert run(["validate", str(delay), "--platform", "hpalab-cluster"]) == 0
    assert run(["validate", str(path)]) == 0
    assert run(["validate", str(path), "--platform", "nomad"]) == 2


@pytest.mark.parametrize(
    ("count", "fraction", "replicas", "killed"),
    [(2, None, 5, 2), (9, None, 3, 3), (None, 0.5, 5, 3), (None, 0.1, 3, 1), (1, None, 0, 0)],
)
def test_killed_count(count, fraction, replicas, killed):
    event = KillPods(type="killPods", at=1.0, count=count, fraction=fraction)
    assert killed_count(event, replicas) == killed


def test_validate_lists_the_faults_in_time_order(capsys, write):
    events = (
        "    - {type: scrapeDelay, at: 40s, duration: 10s, delay: 3s}\n"
        "    - {type: killPods, at: 10s, count: 2}\n"
    )
    code, output = _validate(capsys, write, events)
    assert code == 0, output
    lines = output.splitlines()
    start = lines.index("  faults (spec.events, from the start of the load phase): 2")
    assert [line.split() for line in lines[start + 1 : start + 3]] == [
        ["10s", "killPods", "(count", "2)"],
        ["40s–50s", "scrapeDelay", "(delay", "3s)"],
    ]
