"""Every bad input gets exit 2, no traceback, and a message naming file, line, field and fix."""

from __future__ import annotations

import re

import pytest

from hpalab.cli.main import run

VALID = """\
apiVersion: hpalab/v1
kind: Experiment
metadata:
  name: demo
spec:
  hpa:
    minReplicas: 1
    maxReplicas: 5
    metrics:
      - type: Pods
        pods:
          metric:
            name: http_requests_per_second
          target:
            type: AverageValue
            averageValue: "10"
  adapter:
    rules:
      - seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
        resources:
          overrides:
            namespace: {resource: namespace}
            pod: {resource: pod}
        name:
          matches: "^(.*)_total$"
          as: "${1}_per_second"
        metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)'
  load:
    stages:
      - type: ramp
        from: 1
        to: 50
        duration: 1m
  repetitions: 2
  variants:
    - name: base
    - name: target-20
      patch:
        hpa.metrics[0].pods.target.averageValue: "20"
"""

# (id, replace this, with this, expected line or None, expected substrings)
EDITS = [
    ("yaml-syntax", "  repetitions: 2\n", "  repetitions: [2\n", 35, ["YAML syntax error"]),
    ("tab-indent", "    minReplicas: 1\n", "\tminReplicas: 1\n", 7, ["tab character", "spaces"]),
    (
        "duplicate-key",
        "    maxReplicas: 5\n",
        "    maxReplicas: 5\n    maxReplicas: 6\n",
        9,
        ["spec.hpa.maxReplicas", "duplicate key", "first defined on line 8"],
    ),
    (
        "wrong-kind",
        "kind: Experiment",
        "kind: Experimnt",
        2,
        ["unknown kind", "did you mean Experiment"],
    ),
    (
        "wrong-api-version",
        "apiVersion: hpalab/v1",
        "apiVersion: hpalab/v2",
        1,
        ["apiVersion", "must be hpalab/v1"],
    ),
    (
        "unknown-field-typo",
        "    maxReplicas: 5\n",
        "    maxReplica: 5\n",
        8,
        ["spec.hpa.maxReplica", "unknown field", "did you mean 'maxReplicas'"],
    ),
    (
        "unknown-top-field",
        "  repetitions: 2\n",
        "  repetitons: 2\n",
        34,
        ["spec.repetitons", "did you mean 'repetitions'"],
    ),
    (
        "wrong-type",
        "  repetitions: 2\n",
        "  repetitions: two\n",
        34,
        ["spec.repetitions", "valid integer"],
    ),
    (
        "negative-duration",
        "        duration: 1m\n",
        "        duration: -5s\n",
        33,
        ["spec.load.stages[0].duration", "must not be negative"],
    ),
    (
        "bad-duration",
        "        duration: 1m\n",
        "        duration: 1 minute\n",
        33,
        ["not a duration", "30s"],
    ),
    (
        "bad-quantity",
        'averageValue: "10"',
        'averageValue: "10x"',
        16,
        ["spec.hpa.metrics[0].pods.target.averageValue", "not a Kubernetes quantity"],
    ),
    (
        "max-below-min",
        "    maxReplicas: 5\n",
        "    maxReplicas: 0\n",
        8,
        ["spec.hpa.maxReplicas", "must be ≥ minReplicas"],
    ),
    (
        "min-zero",
        "    minReplicas: 1\n",
        "    minReplicas: 0\n",
        7,
        ["spec.hpa.minReplicas", "≥ 1"],
    ),
    (
        "target-type-mismatch",
        "type: AverageValue",
        "type: Value\n            value: '5'",
        15,
        [
            "spec.hpa.metrics[0].pods.target.type",
            "not a valid target for a Pods metric",
            "use AverageValue",
        ],
    ),
    (
        "metric-source-missing",
        "      - type: Pods\n",
        "      - type: External\n",
        11,
        ["spec.hpa.metrics[0].external", "required when type is External"],
    ),
    (
        "unknown-metric-type",
        "      - type: Pods\n",
        "      - type: Pod\n",
        10,
        ["spec.hpa.metrics[0].type", "Resource"],
    ),
    (
        "empty-stages",
        "    stages:\n      - type: ramp\n        from: 1\n        to: 50\n        duration: 1m\n",
        "    stages: []\n",
        29,
        ["spec.load.stages", "at least 1"],
    ),
    ("ramp-without-target", "        to: 50\n", "", 30, ["spec.load.stages[0].to", "is required"]),
    (
        "unknown-stage-type",
        "      - type: ramp\n",
        "      - type: rmp\n",
        30,
        ["unknown type 'rmp'", "hold"],
    ),
    (
        "negative-rate",
        "        to: 50\n",
        "        to: -3\n",
        32,
        ["to", "must be ≥ 0.0, got -3"],
    ),
    (
        "bad-policy-period",
        "  repetitions: 2\n",
        "  repetitions: 2\n  controller:\n    syncPeriod: 15s\n",
        None,
        [],
    ),  # valid control
    (
        "matrix-path-matches-nothing",
        "  variants:\n",
        "  matrix:\n    - path: hpa.metrics[3].pods.target.averageValue\n      values: ['1']\n"
        "  variants:\n",
        36,
        ["matches nothing", "the list has 1 items"],
    ),
    (
        "variant-breaks-hpa",
        'hpa.metrics[0].pods.target.averageValue: "20"',
        "hpa.maxReplicas: 0",
        37,
        ["variant 'target-20'", "spec.hpa.maxReplicas", "≥ minReplicas"],
    ),
    (
        "variant-unknown-field",
        'hpa.metrics[0].pods.target.averageValue: "20"',
        "hpa.maxReplica: 3",
        37,
        ["variant 'target-20'", "unknown field"],
    ),
    ("duplicate-variant", "    - name: target-20\n", "    - name: base\n", 37, ["used twice"]),
    (
        "unknown-baseline",
        "  repetitions: 2\n",
        "  repetitions: 2\n  baseline: bse\n",
        35,
        ["no variant is named 'bse'", "did you mean 'base'"],
    ),
    (
        "bad-name",
        "  name: demo\n",
        "  name: Demo Experiment\n",
        4,
        ["metadata.name", "lower-case DNS label"],
    ),
    (
        "zero-scrape-interval",
        "  repetitions: 2\n",
        "  repetitions: 2\n  prometheus:\n    scrapeInterval: 0s\n",
        36,
        ["spec.prometheus.scrapeInterval", "must be > 0"],
    ),
    (
        "zero-sync-period",
        "  repetitions: 2\n",
        "  repetitions: 2\n  controller:\n    syncPeriod: 0s\n",
        36,
        ["spec.controller.syncPeriod", "must be > 0"],
    ),
    ("zero-timeout", "  load:\n", "  load:\n    timeout: 0s\n", 29, ["spec.load.timeout"]),
    (
        "profile-and-stages",
        "  load:\n",
        "  load:\n    profile: x.yaml\n",
        28,
        ["exactly one of profile", "stages"],
    ),
    (
        "initial-replicas-zero",
        "  repetitions: 2\n",
        "  repetitions: 2\n  app:\n    initialReplicas: 0\n",
        36,
        ["spec.app.initialReplicas"],
    ),
]


def _validate(capsys, path):
    code = run(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("case", "old", "new", "line", "expected"), EDITS, ids=[e[0] for e in EDITS]
)
def test_bad_edit_is_reported_with_place_and_hint(capsys, write, case, old, new, line, expected):
    check_edit(capsys, write, (case, old, new, line, expected))


def check_edit(capsys, write, edit: tuple[str, str, str, int | None, list[str]]) -> None:
    """Apply ``edit`` (id, old, new, line, expected texts) to VALID and validate: exit 2 at
    ``file:line`` with every expected text, or exit 0 when nothing is expected."""
    case, old, new, line, expected = edit
    assert old in VALID, f"test case {case} does not apply"
    path = write(VALID.replace(old, new, 1))
    code, output = _validate(capsys, path)
    if not expected:  # the control case is valid
        assert code == 0, output
        return
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(rf"{re.escape(str(path))}:{line}(:\d+)?: ", output), output
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output}"


def test_all_problems_of_a_file_are_listed_at_once(capsys, write):
    text = VALID.replace("    maxReplicas: 5\n", "    maxReplicas: 0\n").replace(
        "  repetitions: 2\n", "  repetitions: 2\n  colour: blue\n"
    )
    code, output = _validate(capsys, write(text))
    assert code == 2
    assert "spec.colour" in output
    # the HPA check needs a parsed spec, so type errors come first; the unknown key is there
    assert "2 problems found" in output or "1 problem found" in output


def test_missing_file(capsys, tmp_path):
    code, output = _validate(capsys, tmp_path / "nope.yaml")
    assert code == 2
    assert "nope.yaml: file not found" in output


def test_directory_instead_of_file(capsys, tmp_path):
    code, output = _validate(capsys, tmp_path)
    assert code == 2
    assert "is a directory" in output


def test_empty_file(capsys, write):
    code, output = _validate(capsys, write(""))
    assert code == 2
    assert "file is empty" in output


def test_not_utf8(capsys, write):
    code, output = _validate(capsys, write(b"apiVersion: hpalab/v1\nkind: \xff\xfe\n"))
    assert code == 2
    assert re.search(r"exp.yaml:2:7: not UTF-8", output), output


def test_file_over_10_mb_is_refused(capsys, write):
    code, output = _validate(capsys, write("# " + "x" * (10 * 1024 * 1024) + "\n"))
    assert code == 2
    assert "limited to 10 MB" in output


def test_not_a_mapping(capsys, write):
    code, output = _validate(capsys, write("- 1\n- 2\n"))
    assert code == 2
    assert "must be a YAML mapping" in output


def test_two_documents(capsys, write):
    code, output = _validate(capsys, write(VALID + "---\n" + VALID))
    assert code == 2
    assert "more than one YAML document" in output


def test_missing_profile_file(capsys, write):
    text = VALID.replace(
        "    stages:\n      - type: ramp\n        from: 1\n        to: 50\n        duration: 1m\n",
        "    profile: profiles/missing.yaml\n",
    )
    code, output = _validate(capsys, write(text))
    assert code == 2
    assert "cannot load profile 'profiles/missing.yaml'" in output
    assert "missing.yaml: file not found" in output


TRACE_PROFILE = (
    "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: t}\n"
    "spec:\n  stages:\n    - type: trace\n      file: trace.csv\n"
)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "t_s,rps\n0,10\n10,abc\n5,20\n30,-1\n40\n",
            [
                "profile.yaml:7:7: spec.stages[0].file: bad trace 'trace.csv'",
                "trace.csv:3:1: not numbers",
                "trace.csv:5:1: rate must be ≥ 0",
                "trace.csv:6:1: expected 2 columns",
            ],
        ),
        ("0,10\n10,20\n5,20\n", ["trace.csv:3:1: t_s must increase"]),
        ("t_s,rps\n", ["trace.csv: the trace has no rows"]),
        ("5,10\n10,20\n", ["trace.csv: the first row must be at t_s = 0"]),
    ],
    ids=["bad-rows", "back-in-time", "no-rows", "late-start"],
)
def test_bad_trace_files(capsys, write, rows, expected):
    write(rows, name="trace.csv")
    code, output = _validate(capsys, write(TRACE_PROFILE, name="profile.yaml"))
    assert code == 2
    for text in expected:
        assert text in output, output


def test_a_profile_where_an_experiment_is_needed_is_named(capsys, write):
    from hpalab.errors import SpecError
    from hpalab.specs import load_experiment

    path = write(
        "apiVersion: hpalab/v1\nkind: LoadProfile\nmetadata: {name: p}\n"
        "spec:\n  stages:\n    - {type: hold, rps: 1, duration: 1s}\n"
    )
    with pytest.raises(SpecError, match="LoadProfile, not an Experiment"):
        load_experiment(path)


def test_several_files_report_all_their_problems(capsys, write):
    first = write(VALID.replace("kind: Experiment", "kind: Nope"), name="a.yaml")
    second = write(VALID.replace("    maxReplicas: 5\n", "    maxReplicas: 0\n"), name="b.yaml")
    code = run(["validate", str(first), str(second)])
    output = capsys.readouterr().err
    assert code == 2
    assert "a.yaml:2" in output
    assert "b.yaml:8" in output
