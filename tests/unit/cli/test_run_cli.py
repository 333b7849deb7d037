"""`hpalab run` argument handling; nothing here starts a platform."""

from pathlib import Path

import pytest

from hpalab.cli.main import run
from hpalab.specs import load_experiment
from hpalab.specs.phases import sync_offset_s

REPO = Path(__file__).resolve().parents[3]
SMOKE = str(REPO / "experiments" / "ci-smoke.yaml")


def _run(capsys, *args):
    code = run(["run", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_dry_run_prints_the_plan_and_starts_nothing(capsys, tmp_path):
    code, output = _run(capsys, SMOKE, "--dry-run", "--out", str(tmp_path / "r"))
    assert code == 0, output
    assert "2 trials on the local platform" in output
    assert "target-8#1" in output and "target-15#1" in output
    assert "nothing is started" in output
    assert not (tmp_path / "r").exists()
    # each repetition's phase of the HPA's 2 s sync cycle, the same in both variants
    spec = load_experiment(Path(SMOKE)).experiment.spec
    offset = sync_offset_s(spec.phases, period_s=2.0, seed=7, repetition=1)
    assert output.count(f"+{offset:.1f}s") == 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--platform", "nomad"], "is not one of local, kubernetes"),
        (["--only", "target-9"], "unknown variants: target-9"),
        (["--repetitions", "0"], "Invalid value"),
        (["--out", "README.md"], "is a file, not a directory"),
    ],
)
def test_bad_arguments_exit_2(capsys, args, expected, monkeypatch):
    monkeypatch.chdir(REPO)
    code, output = _run(capsys, SMOKE, "--dry-run", *args)
    assert code == 2, output
    assert expected in output
    assert "Traceback" not in output


def test_missing_prometheus_is_reported_by_the_dry_run(capsys, monkeypatch):
    monkeypatch.setenv("HPALAB_PROMETHEUS", "/nonexistent/prometheus")
    code, output = _run(capsys, SMOKE, "--dry-run")
    assert code == 2
    assert "apt-get install prometheus" in output


def test_resume_needs_a_run_directory(capsys, tmp_path):
    code, output = _run(capsys, "--resume", str(tmp_path))
    assert code == 2 and "is not a run directory" in output
    code, output = _run(capsys, SMOKE, "--resume", str(tmp_path))
    assert code == 2 and "not both" in output


def test_no_experiment(capsys):
    code, output = _run(capsys)
    assert code == 2 and "missing the experiment file" in output
