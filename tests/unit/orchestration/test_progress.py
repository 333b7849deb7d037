import io
import json

from rich.console import Console

from hpalab.orchestration.progress import JsonProgress, PlainProgress, QuietProgress, RichProgress
from hpalab.specs.variants import plan_trials

TRIALS = plan_trials(["a", "b"], repetitions=2, seed=1)
SIGNALS = {
    "offered_rps": 40.0,
    "achieved_rps": 39.0,
    "ready_replicas": 3.0,
    "desired_replicas": 4.0,
    "metric_value": 12.5,
    "metric_target": 10.0,
}


def test_json_progress_is_one_object_per_line_with_an_eta():
    out = io.StringIO()
    progress = JsonProgress(out)
    progress.run_started(trials=TRIALS, per_trial_s=100.0, path="reports/x")
    progress.trial_started(TRIALS[0])
    progress.trial_tick(trial=TRIALS[0], phase="load", t_s=30.0, end_s=90.0, signals=SIGNALS)
    progress.trial_finished(TRIALS[0], "complete")
    progress.note("hello")
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == [
        "run_started",
        "trial_started",
        "tick",
        "trial_finished",
        "note",
    ]
    assert events[0]["trials"] == [t.trial_id for t in TRIALS]
    tick = events[2]
    assert tick["eta_s"] == 60 + 3 * 100  # the rest of this trial and three more
    assert tick["signals"]["ready_replicas"] == 3.0


def test_quiet_progress_prints_trial_results_only():
    out = io.StringIO()
    progress = QuietProgress(out)
    progress.run_started(trials=TRIALS, per_trial_s=10.0, path="r")
    progress.trial_tick(trial=TRIALS[0], phase="load", t_s=1.0, end_s=9.0, signals=SIGNALS)
    progress.trial_finished(TRIALS[0], "failed")
    assert out.getvalue() == f"trial {TRIALS[0].trial_id}: failed (1/4)\n"


def test_rich_progress_shows_trial_phase_load_replicas_and_eta():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=120)
    progress = RichProgress(console)
    progress.run_started(trials=TRIALS, per_trial_s=100.0, path="r")
    progress.trial_tick(trial=TRIALS[1], phase="warmup", t_s=-5.0, end_s=90.0, signals=SIGNALS)
    progress.live.refresh()
    progress.close()
    text = buffer.getvalue()
    for expected in (
        "trial 1/4",
        TRIALS[1].trial_id,
        "warmup",
        "offered 40 rps",
        "achieved 39 rps",
        "3 ready / 4 desired",
        "ETA",
    ):
        assert expected in text, expected


def test_plain_progress_prints_one_line_every_30_s_without_a_terminal():
    out = io.StringIO()
    now = [1000.0]
    progress = PlainProgress(out, clock=lambda: now[0])
    progress.run_started(trials=TRIALS, per_trial_s=100.0, path="r")
    for second in range(1, 62):
        now[0] = 1000.0 + second
        progress.trial_tick(trial=TRIALS[0], phase="load", t_s=second, end_s=90.0, signals=SIGNALS)
    progress.trial_finished(TRIALS[0], "complete")
    lines = out.getvalue().splitlines()
    assert lines == [
        f"trial 1/4 {TRIALS[0].trial_id}: load 30/90 s, elapsed 30s, ETA 6m; replicas 3 "
        "ready / 4 desired; 40 rps offered, 39 achieved",
        f"trial 1/4 {TRIALS[0].trial_id}: load 60/90 s, elapsed 1m, ETA 5m30s; replicas 3 "
        "ready / 4 desired; 40 rps offered, 39 achieved",
        f"trial {TRIALS[0].trial_id}: complete (1/4)",
    ]
