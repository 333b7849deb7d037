"""The run orchestration in virtual time, with fakes at its own seams only."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from hpalab.errors import UsageError
from hpalab.orchestration.progress import QuietProgress
from hpalab.orchestration.runner import RunOptions, run_experiment
from hpalab.results import EVENTS, PROMETHEUS, TIMESERIES, TRIALS, read_manifest, read_table
from hpalab.specs import compile_profile, load_experiment
from hpalab.specs.phases import sync_offset_s

from .fakes import FakeLoad, FakePlatform, VirtualClock

EXPERIMENT = """\
apiVersion: hpalab/v1
kind: Experiment
metadata: {name: unit}
spec:
  hpa:
    maxReplicas: 8
    metrics:
      - type: Pods
        pods:
          metric: {name: http_requests_per_second}
          target: {type: AverageValue, averageValue: "10"}
  adapter: {rules: []}
  load:
    stages:
      - {type: hold, rps: 5, duration: 5s}
      - {type: ramp, to: 40, duration: 10s}
  phases: {warmup: 3s, warmupRps: 2, cooldown: 4s}
  repetitions: 2
  seed: 3
  variants:
    - name: a
    - name: b
      patch:
        hpa.metrics[0].pods.target.averageValue: "20"
"""


class Harness:
    def __init__(
        self,
        tmp_path: Path,
        *,
        crash_variant: str | None = None,
        fail_apply: frozenset[str] = frozenset(),
        text: str = EXPERIMENT,
    ) -> None:
        path = tmp_path / "exp.yaml"
        path.write_text(text)
        self.loaded = load_experiment(path)
        self.clock = VirtualClock()
        self.platform = FakePlatform(self.clock, fail_apply=set(fail_apply))
        self.loads: list[FakeLoad] = []
        self.grids: list[tuple[float, float] | None] = []
        self.crash_variant = crash_variant
        self.out = tmp_path / "reports"

    def start_load(self, request):
        profile = request.profile
        self.grids.append(request.t0_grid)
        crash = 6.0 if self.platform.applied[-1] == self.crash_variant else None
        session = FakeLoad(
            self.clock, self.platform, compile_profile(profile.stages), crash_at=crash
        )
        self.loads.append(session)
        return session

    def run(self, **options):
        return run_experiment(
            self.loaded,
            options=RunOptions(out_dir=self.out, **options),
            platform_factory=lambda loaded: self.platform,
            start_load=self.start_load,
            progress=QuietProgress(),
            platform_name="fake",
            clock=self.clock,
        )


def test_a_complete_run_writes_every_file(tmp_path):
    harness = Harness(tmp_path)
    result = harness.run()
    assert result.status == "complete"
    run_dir = result.path
    assert {p.name for p in run_dir.iterdir()} >= {
        "manifest.json",
        "experiment.lock.yaml",
        "trials.csv",
        "timeseries.csv",
        "events.csv",
        "prometheus.csv",
    }
    trials = read_table(run_dir, TRIALS)
    assert sorted(trials["trial_id"]) == ["a#1", "a#2", "b#1", "b#2"]
    assert set(trials["status"]) == {"complete"}
    series = read_table(run_dir, TIMESERIES)
    one = series[series.trial_id == "a#1"]
    offered = one[one.signal == "offered_rps"].set_index("t_s")["value"]
    assert offered.loc[-3] == 2.0  # warm-up, before t = 0
    assert offered.loc[0] == 5.0
    demand = one[one.signal == "demand_replicas"].set_index("t_s")["value"]
    assert demand.loc[14] == 4.0  # ceil(offered at t=14 (38 rps) / target 10)
    assert one["t_s"].max() == 19  # 15 s of profile + 4 s of cool-down
    assert set(series["signal"]) >= {
        "offered_rps",
        "achieved_rps",
        "ready_replicas",
        "desired_replicas",
        "spec_replicas",
        "metric_value",
        "metric_target",
        "demand_replicas",
        "latency_p95_ms",
    }
    events = read_table(run_dir, EVENTS)
    kinds = set(events["kind"])
    assert {"phase", "load_step", "hpa_rescale"} <= kinds
    assert "pod_created" not in kinds  # the reset's churn is not part of a trial
    steps = events[(events.kind == "load_step") & (events.trial_id == "a#1")]
    assert steps["t_s"].tolist() == [0.0, 5.0]
    assert not read_table(run_dir, PROMETHEUS).empty
    manifest = read_manifest(run_dir)
    assert manifest.status == "complete" and manifest.seed == 3
    assert manifest.platform["platform"] == "fake"
    assert harness.platform.started == 1 and harness.platform.stopped == 1
    assert all(load.stopped for load in harness.loads)


def test_trials_run_in_the_seeded_interleaved_order(tmp_path):
    harness = Harness(tmp_path)
    result = harness.run()
    trials = read_table(result.path, TRIALS).sort_values("order")
    assert [t.split("#")[1] for t in trials["trial_id"]] == ["1", "1", "2", "2"]
    assert harness.platform.applied == [
        "10" if t.startswith("a") else "20" for t in trials["trial_id"]
    ]


def test_each_repetition_starts_its_load_at_its_phase_of_the_hpa_sync_cycle(tmp_path):
    """The same phase for repetition r in every variant, drawn from the seed: the load
    generator gets the instants its profile may start at, and the load phase records it."""
    harness = Harness(tmp_path)
    harness.platform.anchor = (1_799_999_990.5, 15.0)
    result = harness.run()
    trials = read_table(result.path, TRIALS).sort_values("order")["trial_id"].tolist()
    phases = harness.loaded.experiment.spec.phases
    events = read_table(result.path, EVENTS)
    load_phase = events[(events.kind == "phase") & (events.t_s == 0.0)].set_index("trial_id")
    for trial_id, grid in zip(trials, harness.grids, strict=True):
        repetition = int(trial_id.split("#")[1])
        offset = sync_offset_s(phases, period_s=15.0, seed=3, repetition=repetition)
        assert offset is not None and 0 <= offset < 15
        # second 0 comes after the 3 s warm-up, `offset` after a sync at 1_799_999_990.5
        assert grid == (pytest.approx(1_799_999_990.5 + offset - 3.0), 15.0)
        assert json.loads(load_phase.loc[trial_id, "detail"])["hpa_sync_offset_s"] == offset
    assert harness.grids[trials.index("a#1")] == harness.grids[trials.index("b#1")]
    assert harness.grids[trials.index("a#1")] != harness.grids[trials.index("a#2")]


@pytest.mark.parametrize("anchor", [None, (1_799_999_990.5, 15.0)])
def test_the_load_starts_at_once_when_free_or_when_the_sync_times_are_unknown(tmp_path, anchor):
    free = EXPERIMENT.replace("cooldown: 4s}", "cooldown: 4s, syncPhase: free}")
    harness = Harness(tmp_path, text=EXPERIMENT if anchor is None else free)
    harness.platform.anchor = anchor
    result = harness.run()
    assert harness.grids == [None] * 4
    events = read_table(result.path, EVENTS)
    loads = events[(events.kind == "phase") & (events.t_s == 0.0)]["detail"]
    assert all("hpa_sync_offset_s" not in json.loads(d) for d in loads)


def test_the_lock_file_reruns_the_same_trials(tmp_path):
    first = Harness(tmp_path).run()
    lock = first.path / "experiment.lock.yaml"
    data = yaml.safe_load(lock.read_text())
    assert "profile" not in data["spec"]["load"]
    again = load_experiment(lock)
    original = load_experiment(tmp_path / "exp.yaml")
    assert [t.trial_id for t in again.trials()] == [t.trial_id for t in original.trials()]
    assert again.profile == original.profile
    assert [v.spec.model_dump(exclude={"load"}) for v in again.variants] == [
        v.spec.model_dump(exclude={"load"}) for v in original.variants
    ]


def test_a_failed_trial_is_recorded_and_the_next_one_runs(tmp_path):
    harness = Harness(tmp_path, crash_variant="20")
    result = harness.run()
    trials = read_table(result.path, TRIALS).set_index("trial_id")["status"]
    assert trials["b#1"] == "failed" and trials["b#2"] == "failed"
    assert trials["a#1"] == "complete" and trials["a#2"] == "complete"
    events = read_table(result.path, EVENTS)
    fault = events[(events.kind == "fault") & (events.trial_id == "b#1")]
    assert "worker died" in fault["detail"].iloc[0]
    assert result.status == "complete"  # the run finished; failures are per trial
    assert any("b#1" in r for r in result.reasons)


def test_a_platform_error_fails_only_that_trial(tmp_path):
    harness = Harness(tmp_path, fail_apply=frozenset({"20"}))
    result = harness.run()
    trials = read_table(result.path, TRIALS).set_index("trial_id")["status"]
    assert (trials["b#1"], trials["a#1"]) == ("failed", "complete")
    assert any("adapter did not roll out" in r for r in result.reasons)


def test_interrupt_keeps_data_marks_incomplete_and_resume_finishes(tmp_path):
    harness = Harness(tmp_path)
    fired = []

    def interrupt(now):
        if not fired and now - harness.clock.t0 > 30:
            fired.append(now)
            signal.raise_signal(signal.SIGINT)

    harness.clock.t0 = harness.clock.now()
    harness.clock.on_sleep.append(interrupt)
    # what the run must put back: the default handler, or "ignored" when started that way
    before = signal.getsignal(signal.SIGINT)
    result = harness.run()
    assert fired
    assert result.status == "incomplete"
    manifest = read_manifest(result.path)
    assert manifest.status == "incomplete" and "interrupted" in manifest.reasons
    trials = read_table(result.path, TRIALS).set_index("trial_id")["status"]
    assert sorted(trials.value_counts().index) == ["complete", "incomplete", "pending"]
    kept = read_table(result.path, TIMESERIES)
    interrupted = trials[trials == "incomplete"].index[0]
    assert not kept[kept.trial_id == interrupted].empty  # the data so far is kept
    assert harness.platform.stopped == 1  # torn down
    assert signal.getsignal(signal.SIGINT) is before

    harness.clock.on_sleep.clear()
    resumed = Harness(tmp_path)
    resumed.clock = harness.clock
    resumed.platform = FakePlatform(harness.clock)
    resumed.loaded = load_experiment(result.path / "experiment.lock.yaml")
    done = resumed.run(resume=result.path)
    assert done.path == result.path and done.status == "complete"
    trials = read_table(result.path, TRIALS)
    assert set(trials["status"]) == {"complete"}
    # only the missing trials ran again, and the interrupted one's partial rows were replaced
    assert len(resumed.platform.applied) == 3
    series = read_table(result.path, TIMESERIES)
    rows = series[(series.trial_id == interrupted) & (series.signal == "offered_rps")]
    assert rows["t_s"].is_unique


def test_only_and_repetitions(tmp_path):
    result = Harness(tmp_path).run(only=["b"], repetitions=3)
    trials = read_table(result.path, TRIALS)
    assert sorted(trials["trial_id"]) == ["b#1", "b#2", "b#3"]
    # the lock file of an --only run is valid on its own, so --resume can read it
    lock = load_experiment(result.path / "experiment.lock.yaml")
    assert [v.name for v in lock.variants] == ["b"] and lock.baseline == "b"
    assert [t.trial_id for t in lock.trials()] == ["b#1", "b#2", "b#3"]
    with pytest.raises(UsageError, match="unknown variants: c"):
        Harness(tmp_path).run(only=["c"])


def test_an_interrupt_during_a_reset_ends_the_run_without_waiting(tmp_path):
    harness = Harness(tmp_path)
    harness.platform.hang_reset = True
    result = harness.run()
    assert harness.platform.interrupted
    assert result.status == "incomplete"
    statuses = read_table(result.path, TRIALS)["status"].tolist()
    assert statuses.count("incomplete") == 1 and statuses.count("pending") == 3
    assert "failed" not in statuses  # giving up on request is not a failure
    assert harness.platform.stopped == 1


def test_an_interrupt_while_the_platform_starts_is_an_interrupted_run(tmp_path):
    harness = Harness(tmp_path)
    harness.platform.hang_start = True
    result = harness.run()
    assert result.status == "incomplete"
    assert set(read_table(result.path, TRIALS)["status"]) == {"pending"}
    assert read_manifest(result.path).reasons == ["interrupted"]
    assert harness.platform.stopped == 1
