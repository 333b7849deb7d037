"""The simulator against the lab: experiments/ramp.yaml simulated with the calibration of a
real local ramp run (shipped trimmed in tests/data/lab-ramp by scripts/trim-lab-run.py) must
land within 10 % of the lab's median, or inside its bootstrap interval, for every variant on
detection latency, time to capacity, replica-seconds and SLO-violation seconds, except the
misses docs/simulation.md explains."""

from pathlib import Path

import pytest

from hpalab.report.outputs import report_run
from hpalab.results import COMPARISON, read_table
from hpalab.simulation import calibrate_from_run, simulate_experiment
from hpalab.simulation.validation import validation_table
from hpalab.specs import load_experiment

ROOT = Path(__file__).resolve().parents[3]
LAB = ROOT / "tests" / "data" / "lab-ramp"

KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("target10-window2m", "detection_latency_s"): (
        "under overload the lab's request counter grows 10-20 % slower than requests arrive "
        "and get answered; the simulator counts every answered request, so its 2m rate() "
        "crosses the threshold one sync earlier (40 s) where the lab took 40 s in 2 trials "
        "and 55 s in 3"
    ),
}
"""(variant, metric) → why the model misses it (docs/simulation.md, "Validation")."""


def as_recorded(tmp: Path) -> Path:
    """experiments/ramp.yaml as the lab run was made: before trials were aligned to the HPA's
    sync cycle (``syncPhase: free``), so the simulator draws the phases the lab had, from
    the calibration."""
    text = (ROOT / "experiments" / "ramp.yaml").read_text()
    (tmp / "loadprofiles").symlink_to(ROOT / "loadprofiles")  # its profile: ../loadprofiles
    (tmp / "experiments").mkdir()
    path = tmp / "experiments" / "ramp.yaml"
    path.write_text(text.replace("    cooldown: 75s\n", "    cooldown: 75s\n    syncPhase: free\n"))
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    calibration = calibrate_from_run(LAB)
    loaded = load_experiment(as_recorded(tmp_path_factory.mktemp("spec")))
    assert loaded.experiment.spec.phases.sync_phase == "free"
    result = simulate_experiment(
        loaded, out_dir=tmp_path_factory.mktemp("sim"), calibration=calibration, jobs=1
    )
    report_run(result.path, fmt="csv")
    return validation_table(read_table(LAB, COMPARISON), read_table(result.path, COMPARISON))


def test_every_variant_and_metric_is_compared(table):
    variants = {v.name for v in load_experiment(ROOT / "experiments" / "ramp.yaml").variants}
    assert set(table["variant"]) == variants
    assert set(table["metric"]) == {
        "detection_latency_s",
        "time_to_capacity_s",
        "cost_replica_s",
        "slo_violation_s",
    }


def test_the_simulation_is_within_target_or_a_known_miss(table):
    for row in table.itertuples(index=False):
        key = (row.variant, row.metric)
        if key in KNOWN_MISSES:
            continue
        assert row.within, (
            f"{key}: simulated {row.sim_median:.1f} against the lab's {row.lab_median:.1f} "
            f"[{row.lab_ci_low:.1f}, {row.lab_ci_high:.1f}] ({row.diff_pct:+.0f} %)"
        )


def test_the_known_misses_are_still_misses(table):
    # a miss that the model no longer makes must leave the list (and the docs)
    for key in KNOWN_MISSES:
        row = table[(table["variant"] == key[0]) & (table["metric"] == key[1])]
        assert not row.empty and not bool(row["within"].iloc[0]), key
