"""Load profiles: nothing a user wrote is silently dropped or cut; clamps are warned about."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hpalab.cli.main import run

SMOKE = Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml"

PROFILE = """\
apiVersion: hpalab/v1
kind: LoadProfile
metadata: {{name: p}}
spec:
  stages:
    - {{type: hold, rps: 5, duration: 10s}}
    - {stage}
    - {{type: hold, rps: 5, duration: 10s}}
"""

# (id, the middle stage, field path, expected message)
REFUSED = [
    ("hold-zero", "{type: hold, rps: 9, duration: 0s}", "spec.stages[1].duration", "must be > 0"),
    ("ramp-zero", "{type: ramp, to: 9, duration: 0s}", "spec.stages[1].duration", "must be > 0"),
    ("step-zero", "{type: step, rps: 9, duration: 0s}", "spec.stages[1].duration", "must be > 0"),
    (
        "sine-zero",
        "{type: sine, mean: 5, amplitude: 1, period: 5s, duration: 0s}",
        "spec.stages[1].duration",
        "must be > 0",
    ),
    (
        "spike-zero",
        "{type: spike, rps: 50, duration: 0s, peakDuration: 0s}",
        "spec.stages[1].duration",
        "dropped from the profile",
    ),
    (
        "spike-peak-zero",
        "{type: spike, rps: 50, duration: 5s, peakDuration: 0s}",
        "spec.stages[1].peakDuration",
        "a peak of 0 s",
    ),
    (
        "spike-peak-too-long",
        "{type: spike, rps: 50, duration: 5s, peakDuration: 8s}",
        "spec.stages[1].peakDuration",
        "8s is longer than the stage's duration 5s",
    ),
    (
        "spike-default-peak-too-long",
        "{type: spike, rps: 50, duration: 5s}",
        "spec.stages[1]",
        "peakDuration defaults to 10s",
    ),
]


def _validate(capsys, *argv):
    code = run(["validate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("case", "stage", "field", "message"), REFUSED, ids=[r[0] for r in REFUSED]
)
def test_stages_that_would_vanish_or_be_cut_are_refused(capsys, write, case, stage, field, message):
    path = write(PROFILE.format(stage=stage))
    code, _, err = _validate(capsys, path)
    assert code == 2, err
    assert "Traceback" not in err
    assert re.search(rf"{re.escape(str(path))}:7:\d+: {re.escape(field)}", err), err
    assert message in err, err


def test_the_same_checks_apply_to_inline_stages_and_variants(capsys, write):
    text = SMOKE.read_text()
    inline = write(text.replace("        duration: 25s\n", "        duration: 0s\n"))
    code, _, err = _validate(capsys, inline)
    assert code == 2
    assert "spec.load.stages[1].duration: must be > 0" in err, err
    patched = write(
        text.replace(
            'hpa.metrics[0].pods.target.averageValue: "15"',
            'hpa.metrics[0].pods.target.averageValue: "15"\n        load.stages[0].duration: 0s',
        ),
        name="variant.yaml",
    )
    code, _, err = _validate(capsys, patched)
    assert code == 2
    assert "variant 'target-15' makes spec.load.stages[0].duration invalid" in err, err


def test_a_one_row_trace_file_is_refused(capsys, write):
    write("t_s,rps\n0,10\n", name="t.csv")
    path = write(PROFILE.format(stage="{type: trace, file: t.csv}"))
    code, _, err = _validate(capsys, path)
    assert code == 2
    assert "t.csv: a trace of one row lasts 0 s" in err, err


def test_a_spike_whose_peak_fills_the_stage_is_valid(capsys, write):
    path = write(PROFILE.format(stage="{type: spike, rps: 50, duration: 5s, peakDuration: 5s}"))
    code, out, err = _validate(capsys, path)
    assert code == 0, err
    assert "warning" not in out


def test_a_sine_clamped_at_zero_is_a_warning_with_its_place(capsys, write):
    stage = "{type: sine, mean: 10, amplitude: 20, period: 20s, duration: 40s}"
    path = write(PROFILE.format(stage=stage))
    code, out, _ = _validate(capsys, path)
    assert code == 0
    assert re.search(
        rf"warning: {re.escape(str(path))}:7:\d+: spec.stages\[1\].amplitude: the sine would go "
        r"below 0 \(mean 10 − amplitude 20 = -10 requests/s\): the rate is clamped to 0 for "
        r"33% of each period",
        out,
    ), out
    code, out, _ = _validate(capsys, "--json", path)
    assert code == 0
    assert "clamped to 0" in json.loads(out)[0]["warnings"][0]


def test_a_clamped_sine_in_a_referenced_profile_is_warned_at_the_profile(capsys, write):
    stage = "{type: sine, mean: 0, amplitude: 20, period: 20s, duration: 40s}"
    profile = write(PROFILE.format(stage=stage), name="profiles/sine.yaml")
    text = SMOKE.read_text()
    stages = text[text.index("    stages:") : text.index("    arrivals:")]
    path = write(text.replace(stages, "    profile: profiles/sine.yaml\n"))
    code, out, _ = _validate(capsys, path)
    assert code == 0
    assert f"warning: {profile}:7:" in out, out
    assert "50% of each period" in out


def test_a_profile_of_years_is_summed_in_bounded_steps(capsys, write):
    # it was summed every 0.1 s: 36 billion steps, a validate that never ended
    path = write(PROFILE.format(stage="{type: hold, rps: 5, duration: 1000000h}"))
    code, out, err = _validate(capsys, path)
    assert code == 0, err
    assert "18,000,000,100 requests" in out, out
