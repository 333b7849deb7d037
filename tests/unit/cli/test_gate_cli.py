"""`hpalab compare NEW --against OLD --gate RULES` on synthetic run pairs."""

from __future__ import annotations

import re

import pytest
from junitparser import Failure, JUnitXml, Skipped

from hpalab.cli.main import run
from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run

RULES = """\
time_to_capacity_s: {worse_by: 10%}
replica_seconds: {worse_by: 20%}
slo_violation_s: {worse_by: 0}
"""


def _run(variant: SyntheticVariant, base, name: str, *, repetitions: int, seed: int):
    return write_synthetic_run(
        base / name,
        variants=(variant,),
        repetitions=repetitions,
        duration_s=240,
        name=name,
        seed=seed,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Five trials each of one variant 'app' with an HPA target of 20 requests/s per pod (good:
    cheaper, fewer SLO seconds) or 10 (bad); and two trials each of two close tunings (too
    few to tell the doubled cost of the second from noise)."""
    base = tmp_path_factory.mktemp("gate")
    return {
        "good": _run(SyntheticVariant("app", target_rps=20), base, "good", repetitions=5, seed=1),
        "bad": _run(SyntheticVariant("app"), base, "bad", repetitions=5, seed=2),
        "two-a": _run(SyntheticVariant("app", target_rps=20), base, "two-a", repetitions=2, seed=3),
        "two-b": _run(SyntheticVariant("app"), base, "two-b", repetitions=2, seed=4),
    }


def _gate(capsys, runs, new, old, *extra, rules=RULES):
    code = run(["compare", str(runs[new]), "--against", str(runs[old]), "--gate", rules, *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_worse_run_fails_the_gate_with_exit_3(capsys, runs):
    code, output = _gate(capsys, runs, "bad", "good")
    assert code == 3, output
    assert re.search(r"app\s+slo_violation_s \[s\]\s+≤ 0 .*fail", output), output
    assert "gate FAILED" in output


def test_a_better_run_passes(capsys, runs):
    code, output = _gate(capsys, runs, "good", "bad")
    assert code == 0, output
    assert "gate passed: 0 failed" in output
    assert "fail " not in output


def test_too_few_trials_is_inconclusive_and_only_strict_fails_it(capsys, runs):
    rules = "replica_seconds: {worse_by: 0}"
    code, output = _gate(capsys, runs, "two-b", "two-a", rules=rules)
    assert code == 0, output
    assert "inconclusive" in output and "rank test does not separate" in output
    assert "do not fail the gate without --strict" in output
    code, output = _gate(capsys, runs, "two-b", "two-a", "--strict", rules=rules)
    assert code == 3, output
    assert "gate FAILED: 0 failed, 1 inconclusive" in output


def test_junit_output_parses_and_carries_failures_and_skips(capsys, runs, tmp_path):
    out = tmp_path / "gate.xml"
    code, _ = _gate(capsys, runs, "bad", "good", "--format", "junit", "--out", str(out))
    assert code == 3
    suites = JUnitXml.fromfile(str(out))
    (suite,) = list(suites)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"time_to_capacity_s", "replica_seconds", "slo_violation_s"}
    assert all(case.classname == "gate.app" for case in cases.values())
    failed = [
        name for name, case in cases.items() if any(isinstance(r, Failure) for r in case.result)
    ]
    assert "slo_violation_s" in failed
    assert suite.failures == len(failed) and suite.tests == 3
    skipped = [
        name for name, case in cases.items() if any(isinstance(r, Skipped) for r in case.result)
    ]
    assert suite.skipped == len(skipped)

    code, text = _gate(
        capsys,
        runs,
        "two-b",
        "two-a",
        "--format",
        "junit",
        "--strict",
        rules="replica_seconds: {worse_by: 0}",
    )
    assert code == 3
    strict = JUnitXml.fromstring(text.encode())
    (case,) = list(next(iter(strict)))
    assert isinstance(case.result[0], Failure) and case.result[0].type == "inconclusive"


def test_markdown_output_for_a_pull_request(capsys, runs):
    code, text = _gate(capsys, runs, "good", "bad", "--format", "markdown")
    assert code == 0
    assert text.startswith("### hpalab gate: ✅ passed")
    assert "| variant | metric | allowed |" in text
    assert "| app | replica_seconds [replica·s] | ≤ 20% |" in text


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--gate", "time_to_capacty_s: {worse_by: 10%}"],
            [
                "<--gate>:1:1: time_to_capacty_s: unknown metric",
                "did you mean 'time_to_capacity_s'",
            ],
        ),
        (
            ["--gate", "slo_violation_s: {worse_by: lots}"],
            ["<--gate>:1:", "slo_violation_s", "'lots' is not an amount"],
        ),
        (["--gate", "slo_violation_s: {worse: 1}"], ["<--gate>:1:", "unknown field"]),
        (["--gate", "missing-rules.yaml"], ["missing-rules.yaml: file not found"]),
        (
            ["--gate", "slo_violation_s: {worse_by: 0}", "--format", "html"],
            ["unknown gate format 'html'"],
        ),
    ],
    ids=["unknown-metric", "bad-amount", "unknown-field", "no-file", "bad-format"],
)
def test_bad_gate_inputs_exit_2(capsys, runs, args, expected):
    code = run(["compare", str(runs["good"]), "--against", str(runs["bad"]), *args])
    output = "".join(capsys.readouterr())
    assert code == 2, output
    for text in expected:
        assert text in output
    assert "Traceback" not in output


def test_a_rules_file_reports_file_and_line(capsys, runs, tmp_path):
    rules = tmp_path / "gate.yaml"
    rules.write_text("time_to_capacity_s: {worse_by: 10%}\n\nreplica_secs: {worse_by: 20%}\n")
    code = run(["compare", str(runs["good"]), "--against", str(runs["bad"]), "--gate", str(rules)])
    output = "".join(capsys.readouterr())
    assert code == 2
    assert f"{rules}:3:1: replica_secs: unknown metric" in output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--gate", "slo_violation_s: {worse_by: 0}"], "--against OLD_RUN is missing"),
        (["--against", "{old}"], "--gate RULES is missing"),
        (
            ["--gate", "slo_violation_s: {worse_by: 0}", "--against", "README.md"],
            "is not a run directory",
        ),
        (["--strict"], "--strict needs --gate"),
    ],
)
def test_gate_arguments_are_checked(capsys, runs, args, expected):
    args = [a.replace("{old}", str(runs["bad"])) for a in args]
    code = run(["compare", str(runs["good"]), *args])
    output = "".join(capsys.readouterr())
    assert code == 2 and expected in output, output


def test_run_checks_its_gate_options_before_starting_anything(capsys, tmp_path):
    smoke = "experiments/ci-smoke.yaml"
    code = run(
        [
            "run",
            smoke,
            "--gate",
            "nope: {worse_by: 0}",
            "--against",
            str(tmp_path),
            "--out",
            str(tmp_path / "r"),
        ]
    )
    output = "".join(capsys.readouterr())
    assert code == 2 and "is not a run directory" in output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("new", "old", "code"), [("bad", "good", 3), ("good", "bad", None)])
def test_run_gates_the_finished_run(capsys, runs, new, old, code):
    import typer

    from hpalab.cli.gate import gate_request
    from hpalab.cli.run import _finish
    from hpalab.orchestration.progress import QuietProgress
    from hpalab.orchestration.runner import RunResult

    request = gate_request(rules=RULES, against=runs[old], fmt="markdown", strict=False)
    result = RunResult(runs[new], "complete", {"app#1": "complete"}, [])
    if code is None:
        _finish(result, QuietProgress(), gate=request)
    else:
        with pytest.raises(typer.Exit) as stopped:
            _finish(result, QuietProgress(), gate=request)
        assert stopped.value.exit_code == code
    output = "".join(capsys.readouterr())
    assert "run complete: 1 complete" in output
    assert ("### hpalab gate: ❌ failed" in output) == (code == 3)
