"""Every KEDA conformance case passes, the files follow the contract, and --check can fail."""

import json
from pathlib import Path

import pytest

from hpalab.autoscaling.conformance import parse_document
from hpalab.autoscaling.keda.conformance import KINDS, compare, run_case
from hpalab.cli.main import run

CASE_DIR = Path(__file__).resolve().parents[2] / "conformance" / "keda"
FILES = sorted(CASE_DIR.glob("*.json"))
GROUPS = {
    "operator": {"hpa_for_scaledobject"},
    "scaler": {"prometheus_trigger_parse", "prometheus_value"},
    "metrics_server": {"external_metric_value"},
    "scale_executor": {"activation"},
    "fallback": {"fallback"},
}
ERROR_CLASSES = {
    "invalid_scaledobject",
    "scaler_config",
    "http_status",
    "decode",
    "empty_result",
    "empty_value_list",
    "multiple_elements",
    "not_enough_values",
    "invalid_value",
    "not_finite",
    "scaler_error",
    "fallback_failed",
}
PREFIX = {
    "hpa_for_scaledobject": "hpa-",
    "prometheus_trigger_parse": "parse-",
    "prometheus_value": "value-",
    "external_metric_value": "ext-",
    "activation": "act-",
    "fallback": "fb-",
}


def _cases():
    for path in FILES:
        _, cases = parse_document(json.loads(path.read_text()), source=str(path))
        for case in cases:
            yield pytest.param(case, id=f"{path.stem}:{case['id']}")


@pytest.mark.parametrize("case", list(_cases()))
def test_case_passes(case):
    output = run_case(case, {})
    assert compare(case["expect"], output) == [], output


@pytest.mark.parametrize("case", list(_cases()))
def test_case_follows_the_contract(case):
    assert case["id"].startswith(PREFIX[case["kind"]])
    assert case["kind"] in GROUPS[case["group"]]
    assert isinstance(case["derived"], bool) and case["notes"]
    source = case["source"]
    if case["derived"]:
        assert source.startswith(("derived from kedacore/keda ", "kedacore/keda "))
    else:
        assert source.startswith("kedacore/keda ") and " :: " in source
    if "error" in case["expect"]:
        assert case["expect"]["error"] in ERROR_CLASSES


def test_at_least_100_cases_are_ported_from_upstream_tests():
    ported = [p.values[0] for p in _cases() if not p.values[0]["derived"]]
    assert len(ported) >= 100
    assert {c["kind"] for c in ported} == set(KINDS), "every kind has ported cases"


def test_check_rules_are_recursive_and_null_means_absent():
    output = {"hpa": {"name": "a", "behavior": None, "labels": {"x": "1"}}, "n": 100.0}
    assert compare({"hpa": {"name": "a"}, "n": 100}, output) == []
    assert compare({"hpa": {"behavior": None, "missing": None}}, output) == []
    assert compare({"hpa": {"labels": {}}}, output) != []  # {} matches only {}
    assert compare({"hpa": {"name": "b"}}, output) == ['hpa.name: expected "b", got "a"']
    assert compare({"n": True}, {"n": 1}) != []
    assert compare({"l": [1, 2]}, {"l": [1, 2, 3]}) != []
    error = {"error": "scaler_config", "message": "error parsing prometheus metadata: x"}
    assert compare({"error": "scaler_config", "message": "metadata: x"}, error) == []
    assert compare({"error": "scaler_config", "message": "nope"}, error) != []


def test_run_case_never_raises_on_garbage():
    assert run_case({"kind": "nope", "input": {}}, {})["error"] == "internal"
    out = run_case({"kind": "activation", "input": {"spec": "not a mapping"}}, {})
    assert out["error"] == "internal" and out["message"]


def test_cli_checks_every_case_file_and_reports_a_failure(capsys, tmp_path):
    for path in FILES:
        assert run(["conformance", "keda", str(path), "--check"]) == 0
        assert capsys.readouterr().out.rstrip().endswith(" 0 failed")
    document = json.loads(FILES[0].read_text())
    document["cases"] = document["cases"][:1]
    document["cases"][0]["expect"] = {"no_such_key": 1}
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    assert run(["conformance", "keda", str(broken), "--check"]) == 1
    out = capsys.readouterr().out
    assert "FAIL " in out and out.rstrip().endswith("0 passed, 1 failed")
