import json
import shutil

import pytest

from hpalab.cli.main import run
from hpalab.report.synthetic import SyntheticVariant, write_synthetic_run


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    variants = (SyntheticVariant("baseline"), SyntheticVariant("fast-sync", sync_period_s=5))
    return write_synthetic_run(
        tmp_path_factory.mktemp("cli"), variants=variants, repetitions=2, duration_s=180
    )


@pytest.fixture
def run_dir(built, tmp_path):
    target = tmp_path / built.name
    shutil.copytree(built, target)
    return target


def test_report_writes_html_and_csv(run_dir, capsys):
    assert run(["report", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "report.html" in out and (run_dir / "report.html").is_file()
    assert (run_dir / "summary.csv").is_file() and (run_dir / "comparison.csv").is_file()


def test_report_formats(run_dir, capsys):
    assert run(["report", str(run_dir), "--format", "csv"]) == 0
    assert capsys.readouterr().out.startswith("variant,metric,unit,n,median")
    assert run(["report", str(run_dir), "--format", "json", "--baseline", "fast-sync"]) == 0
    assert json.loads(capsys.readouterr().out)["baseline"] == "fast-sync"


def test_compare_to_stdout_and_file(run_dir, built, tmp_path, capsys):
    assert run(["compare", str(built), str(run_dir)]) == 0
    assert f"{run_dir.name}-2/fast-sync" in capsys.readouterr().out
    target = tmp_path / "compare.html"
    assert run(["compare", str(built), str(run_dir), "-f", "html", "--out", str(target)]) == 0
    assert "<svg" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "{missing}"], "does not exist"),
        (["report", "{empty}"], "not a run directory"),
        (["report", "{run}", "--format", "pdf"], "unknown format"),
        (["report", "{run}", "--baseline", "nope"], "unknown baseline"),
        (["report", "{run}", "--alpha", "2"], "--alpha must be between 0 and 1"),
        (["compare", "{run}", "{missing}"], "does not exist"),
        (["compare", "{run}", "--format", "xml"], "unknown format"),
    ],
)
def test_bad_inputs_exit_2_with_a_hint(argv, message, run_dir, tmp_path, capsys):
    paths = {"missing": tmp_path / "missing", "empty": tmp_path, "run": run_dir}
    args = [a.format(**{k: str(v) for k, v in paths.items()}) for a in argv]
    assert run(args) == 2
    err = capsys.readouterr().err
    assert message in err and "hint:" in err
    assert "Traceback" not in err
