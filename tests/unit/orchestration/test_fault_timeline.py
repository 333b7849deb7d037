"""spec.events fired by the trial loop at their own times, in virtual time."""

from __future__ import annotations

import json

import pytest

from hpalab.orchestration.faults import plan_actions
from hpalab.results import EVENTS, read_table
from hpalab.specs import load_experiment
from hpalab.specs.events import AdapterOutage, KillPods, PrometheusOutage

from .fakes import FakePlatform
from .test_runner import EXPERIMENT, Harness

EVENTS_YAML = """\
  events:
    - {type: killPods, at: 2.5s, count: 1}
    - {type: prometheusOutage, at: 4s, duration: 2.5s}
    - {type: prometheusOutage, at: 6.5s, duration: 1s}
"""


class FaultyPlatform(FakePlatform):
    def __init__(self, clock, **kwargs):
        super().__init__(clock, **kwargs)
        self.calls: list[tuple[str, str, float]] = []

    def start_fault(self, event):
        self.calls.append(("start", event.type, self.clock.now()))
        return {"killed": ["pod-a"]} if event.type == "killPods" else {}

    def end_fault(self, event):
        self.calls.append(("end", event.type, self.clock.now()))
        return {}


def _harness(tmp_path, platform_class=FaultyPlatform):
    path = tmp_path / "faults.yaml"
    path.write_text(EXPERIMENT.replace("  repetitions: 2\n", "  repetitions: 1\n") + EVENTS_YAML)
    harness = Harness(tmp_path)
    harness.loaded = load_experiment(path)
    harness.platform = platform_class(harness.clock)
    return harness


def _fault_rows(harness, result, trial):
    events = read_table(result.path, EVENTS)
    rows = events[(events["trial_id"] == trial) & events["kind"].str.startswith("fault_")]
    return [(r.t_s, r.kind, r.object, json.loads(r.detail)) for r in rows.itertuples()]


def test_faults_fire_at_their_times_and_are_recorded_with_start_and_end(tmp_path):
    harness = _harness(tmp_path)
    result = harness.run(only=["a"])
    rows = _fault_rows(harness, result, "a#1")
    assert [(t, kind, obj) for t, kind, obj, _ in rows] == [
        (2.5, "fault_injected", "pods"),
        (4.0, "fault_injected", "prometheus"),
        (6.5, "fault_cleared", "prometheus"),  # the first outage ends before the next begins
        (6.5, "fault_injected", "prometheus"),
        (7.5, "fault_cleared", "prometheus"),
    ]
    assert rows[0][3] == {
        "event": 0,
        "type": "killPods",
        "planned_s": 2.5,
        "planned_end_s": 2.5,
        "killed": ["pod-a"],
    }
    assert rows[1][3]["planned_end_s"] == 6.5
    assert [c[:2] for c in harness.platform.calls] == [
        ("start", "killPods"),
        ("start", "prometheusOutage"),
        ("end", "prometheusOutage"),
        ("start", "prometheusOutage"),
        ("end", "prometheusOutage"),
    ]


def test_an_interrupted_trial_takes_its_faults_back(tmp_path):
    harness = _harness(tmp_path)

    def stop_at_5s(now):
        if harness.platform.calls and now - harness.platform.calls[0][2] >= 2.6:
            harness.clock.on_sleep.clear()
            import signal

            signal.raise_signal(signal.SIGINT)

    harness.clock.on_sleep.append(stop_at_5s)
    result = harness.run(only=["a"])
    assert result.status == "incomplete"
    rows = _fault_rows(harness, result, "a#1")
    cleared = [d for _, kind, _, d in rows if kind == "fault_cleared"]
    assert cleared and cleared[-1]["cut_short"] is True
    assert harness.platform.calls[-1][0] == "end"


def test_a_platform_that_cannot_inject_records_a_warning(tmp_path):
    harness = _harness(tmp_path, FakePlatform)
    result = harness.run(only=["a"])
    events = read_table(result.path, EVENTS)
    warnings = events[events["kind"] == "warning"]
    assert len(warnings) == 3  # two outages and a kill; the ends of failed starts are skipped
    assert "the fake platform cannot inject killPods" in warnings["detail"].iloc[0]
    assert not events["kind"].str.startswith("fault_").any()


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        (
            [
                PrometheusOutage(type="prometheusOutage", at=5, duration=5),
                KillPods(type="killPods", at=10, count=1),
                AdapterOutage(type="adapterOutage", at=0, duration=10),
            ],
            [(0, "start", 2), (5, "start", 0), (10, "end", 0), (10, "end", 2), (10, "start", 1)],
        ),
    ],
)
def test_plan_actions_orders_ends_before_starts(events, expected):
    assert [(a.t_s, a.action, a.index) for a in plan_actions(events)] == expected


def test_the_trial_clock_counts_from_the_load_generators_own_start(tmp_path):
    """Locust fixes its profile start seconds after it is launched: platform events and
    faults must count from that instant, not from the launch."""
    harness = _harness(tmp_path)
    launch = harness.start_load

    def late_start(request):
        session = launch(request)
        t0 = harness.clock.now() + 3.0  # known only once the clock gets there
        session.t0 = t0
        session.started_at = lambda: t0 if harness.clock.now() >= t0 else None
        return session

    harness.start_load = late_start
    harness.run(only=["a"])
    warmup = harness.loaded.variant("a").spec.phases.warmup
    (kill_at,) = [t for action, kind, t in harness.platform.calls if kind == "killPods"]
    assert kill_at == harness.loads[0].t0 + warmup + 2.5
