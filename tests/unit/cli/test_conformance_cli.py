"""`hpalab conformance`: output lines, --check verdicts, and bad case files."""

import json

from hpalab.cli.main import run

CASE = {
    "id": "legacy-limit",
    "source": "derived from the unit test",
    "input": {
        "function": "legacy_convert_desired_replicas_with_rules",
        "current_replicas": 3,
        "desired_replicas": 1000,
        "min_replicas": 1,
        "max_replicas": 2000,
        "scale_up_limit_factor": 2.0,
        "scale_up_limit_minimum": 4,
    },
    "expect": {"replicas": 6, "reason": "ScaleUpLimit"},
}


def write(tmp_path, document, name="cases.json"):
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


def test_prints_one_json_line_per_case_in_order(tmp_path, capsys):
    second = dict(CASE, id="second")
    path = write(tmp_path, {"cases": [CASE, second]})
    assert run(["conformance", "hpa", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [
        {"id": "legacy-limit", "output": {"replicas": 6, "reason": "ScaleUpLimit"}},
        {"id": "second", "output": {"replicas": 6, "reason": "ScaleUpLimit"}},
    ]


def test_check_fails_on_a_wrong_expectation_and_exits_1(tmp_path, capsys):
    wrong = dict(CASE, id="wrong", expect={"replicas": 7})
    path = write(tmp_path, {"cases": [CASE, wrong]})
    assert run(["conformance", "hpa", str(path), "--check"]) == 1
    out = capsys.readouterr().out
    assert "PASS legacy-limit" in out
    assert "FAIL wrong: replicas: expected 7, got 6" in out
    assert out.rstrip().endswith("1 passed, 1 failed")


def test_an_error_case_does_not_stop_the_run(tmp_path, capsys):
    broken = {
        "id": "broken",
        "input": {"function": "no_such_function"},
        "expect": {"error": "unknown function"},
    }
    path = write(tmp_path, {"cases": [broken, CASE]})
    assert run(["conformance", "hpa", str(path), "--check"]) == 0
    out = capsys.readouterr().out
    first = json.loads(out.splitlines()[0])
    assert first["id"] == "broken" and "unknown function" in first["output"]["error"]
    assert "2 passed, 0 failed" in out


def test_unordered_and_error_substring_rules():
    from hpalab.autoscaling.conformance import compare

    assert compare({"x_unordered": [1, 2, 2]}, {"x_unordered": [2, 1, 2]}) == []
    assert compare({"x_unordered": [1, 2]}, {"x_unordered": [1, 1]}) != []
    assert compare({"xs": [1, 2]}, {"xs": [2, 1]}) != []
    assert compare({"error": "no pods"}, {"error": "failed: no pods returned"}) == []
    assert compare({"n": 1}, {"n": True}) != []
    assert compare({"n": 1}, {"n": 1, "extra": 3}) == []


def test_missing_file_is_bad_input(tmp_path, capsys):
    assert run(["conformance", "hpa", str(tmp_path / "absent.json")]) == 2
    assert "absent.json: no such case file" in capsys.readouterr().err


def test_invalid_json_names_line_and_column(tmp_path, capsys):
    path = write(tmp_path, '{"cases": [\n  {"id": "a",,}\n]}')
    assert run(["conformance", "hpa", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:" in err and "invalid JSON" in err


def test_wrong_shape_is_bad_input(tmp_path, capsys):
    assert run(["conformance", "hpa", str(write(tmp_path, {"tests": []}))]) == 2
    assert "no 'cases' list" in capsys.readouterr().err
    dup = write(tmp_path, {"cases": [CASE, CASE]}, "dup.json")
    assert run(["conformance", "hpa", str(dup)]) == 2
    assert "duplicate case id" in capsys.readouterr().err
    no_input = write(tmp_path, {"cases": [{"id": "x"}]}, "noinput.json")
    assert run(["conformance", "hpa", str(no_input)]) == 2


def test_adapter_command_reads_files_the_same_way(tmp_path, capsys):
    assert run(["conformance", "adapter", str(tmp_path / "absent.json")]) == 2
    assert "no such case file" in capsys.readouterr().err


def test_json_nested_thousands_deep_is_bad_input_not_a_traceback(tmp_path, capsys):
    path = write(tmp_path, "[" * 100_000)
    assert run(["conformance", "hpa", str(path)]) == 2
    assert "nested too deeply" in capsys.readouterr().err
