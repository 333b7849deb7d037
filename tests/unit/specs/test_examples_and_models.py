import json
import math
from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.specs import (
    LoadedExperiment,
    LoadProfile,
    capacity_rps,
    compile_profile,
    load_spec,
)
from hpalab.specs.profiles import ProfileSpec
from hpalab.specs.units import format_duration, parse_duration
from hpalab.specs.variants import apply_patch, merge_patch, parse_path, plan_trials

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(
    [
        *REPO.glob("experiments/*.yaml"),
        *REPO.glob("loadprofiles/*.yaml"),
        *REPO.glob("examples/*/*.yaml"),
    ],
    key=lambda p: p.name,
)
# examples/cluster/ takes its HPA and rules from a cluster: tests/unit/specs/test_target_spec.py
EXAMPLES = [p for p in EXAMPLES if p.parent.name != "cluster"]


def test_the_examples_exist():
    names = {p.relative_to(REPO).as_posix() for p in EXAMPLES}
    assert {
        "experiments/ramp.yaml",
        "experiments/step.yaml",
        "experiments/behavior-policies.yaml",
        "experiments/ci-smoke.yaml",
        "loadprofiles/ramp.yaml",
        "loadprofiles/step.yaml",
        "loadprofiles/spike.yaml",
        "loadprofiles/sine.yaml",
    } <= names
    assert (REPO / "loadprofiles/diurnal.csv").is_file()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_shipped_file_validates(path, capsys):
    assert run(["validate", str(path)]) == 0, capsys.readouterr().err
    assert "is valid" in capsys.readouterr().out


def test_ramp_flagship_compares_targets_and_windows():
    loaded = load_spec(REPO / "experiments/ramp.yaml")
    assert isinstance(loaded, LoadedExperiment)
    assert len(loaded.variants) == 3
    targets = {v.spec.hpa.metrics[0].pods.target.average_value for v in loaded.variants}
    assert targets == {"10", "13"}
    windows = {
        v.spec.adapter["rules"][0]["metricsQuery"].split("[")[1][:3] for v in loaded.variants
    }
    assert windows == {"30s", "2m]"}
    curve = loaded.curve()
    assert curve.rate_at(0) == 5
    assert curve.rate_at(curve.duration_s - 1) == pytest.approx(150)


def test_ramp_flagship_can_answer_its_question_within_an_hour():
    loaded = load_spec(REPO / "experiments/ramp.yaml")
    assert isinstance(loaded, LoadedExperiment)
    spec = loaded.experiment.spec
    # five repetitions: a rank test of 5 against 5 can reach p < 0.05
    assert spec.repetitions == 5
    # a replica saturates at 1.2-1.5 times the HPA target, so slow scaling hurts
    for variant in loaded.variants:
        target = float(variant.spec.hpa.metrics[0].pods.target.average_value)
        capacity = capacity_rps(variant.spec)
        assert capacity is not None and 1.0 < capacity / target <= 1.5
    base = loaded.variant(loaded.baseline).spec
    assert capacity_rps(base) / 10 >= 1.2
    # scale-down is observed: the stabilization window fits in the cool-down
    down = spec.hpa.behavior.scale_down.stabilization_window_seconds
    assert down < spec.phases.cooldown
    trial = spec.phases.warmup + loaded.curve().duration_s + spec.phases.cooldown
    assert len(loaded.variants) * spec.repetitions * trial <= 60 * 60


def test_ci_smoke_fits_in_90_seconds_per_trial():
    loaded = load_spec(REPO / "experiments/ci-smoke.yaml")
    assert isinstance(loaded, LoadedExperiment)
    phases = loaded.experiment.spec.phases
    assert phases.warmup + loaded.curve().duration_s + phases.cooldown <= 90
    assert len(loaded.variants) == 2


def test_validate_json_prints_the_resolved_spec(capsys):
    assert run(["validate", "--json", str(REPO / "experiments/step.yaml")]) == 0
    data = json.loads(capsys.readouterr().out)[0]
    assert data["spec"]["load"]["stages"][1] == {"type": "step", "duration": "2m", "rps": 100.0}
    assert [v["name"] for v in data["resolved"]["variants"]] == [
        "default-behavior",
        "fast-scale-up",
    ]
    assert len(data["resolved"]["trials"]) == 6


def test_schema_covers_both_kinds(capsys):
    assert run(["schema"]) == 0
    schemas = json.loads(capsys.readouterr().out)
    assert set(schemas) == {"Experiment", "LoadProfile"}
    assert "apiVersion" in schemas["Experiment"]["properties"]
    assert run(["schema", "--kind", "Nope"]) == 2


def _curve(*stages):
    return compile_profile(ProfileSpec.model_validate({"stages": list(stages)}).stages)


def test_stage_rates():
    curve = _curve(
        {"type": "hold", "rps": 10, "duration": "10s"},
        {"type": "ramp", "to": 30, "duration": "20s"},
        {"type": "step", "rps": 5, "duration": "10s"},
        {"type": "spike", "rps": 50, "peakDuration": "2s", "duration": "10s"},
        {"type": "sine", "mean": 10, "amplitude": 20, "period": "8s", "duration": "8s"},
        {"type": "hold", "duration": "5s"},
    )
    assert curve.rate_at(5) == 10
    assert curve.rate_at(20) == pytest.approx(20)  # halfway up the ramp
    assert curve.rate_at(35) == 5
    assert curve.rate_at(41) == 50 and curve.rate_at(45) == 5
    assert curve.rate_at(52) == pytest.approx(10 + 20 * math.sin(math.pi / 2))
    assert curve.rate_at(56) == 0  # a sine never offers a negative rate
    assert curve.rate_at(62) == pytest.approx(curve.segments[4].end_rps)
    assert curve.duration_s == 63
    assert curve.rate_at(63) == 0 and curve.rate_at(-1) == 0
    assert [r[0] for r in curve.rises()] == [0, 10, 40, 50]


def test_trace_is_interpolated_and_scaled(tmp_path):
    (tmp_path / "t.csv").write_text("t_s,rps\n0,0\n10,100\n")
    (tmp_path / "p.yaml").write_text(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: p}\nspec:\n  stages:\n"
        "    - {type: trace, file: t.csv, rateScale: 2, timeScale: 0.5}\n"
    )
    profile = load_spec(tmp_path / "p.yaml")
    assert isinstance(profile, LoadProfile)
    curve = compile_profile(profile.spec.stages)
    assert curve.duration_s == 5
    assert curve.rate_at(2.5) == pytest.approx(100)
    assert curve.requests_between(0, 5) == pytest.approx(500, rel=0.01)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h30m", 5400), ("500ms", 0.5), (7, 7)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


def test_paths_and_merge_patch():
    assert parse_path("hpa.metrics[0].pods") == ["hpa", "metrics", 0, "pods"]
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}) == {
        "a": 1,
        "b": {"d": 3},
    }
    spec = {"hpa": {"metrics": [{"type": "Pods"}], "maxReplicas": 3}}
    patched = apply_patch(spec, {"hpa.metrics[0].type": "External", "hpa": {"maxReplicas": 9}})
    assert patched["hpa"] == {"metrics": [{"type": "External"}], "maxReplicas": 9}
    assert spec["hpa"]["maxReplicas"] == 3  # the input is not changed


def test_trial_order_is_seeded_interleaved_and_complete():
    first = plan_trials(["a", "b", "c"], repetitions=3, seed=1)
    assert first == plan_trials(["a", "b", "c"], repetitions=3, seed=1)
    assert [t.order for t in first] == list(range(1, 10))
    for round_start in (0, 3, 6):  # every variant once per round
        assert {t.variant for t in first[round_start : round_start + 3]} == {"a", "b", "c"}
    orders = {
        tuple(t.variant for t in plan_trials(["a", "b", "c"], repetitions=3, seed=s))
        for s in range(10)
    }
    assert len(orders) > 1
