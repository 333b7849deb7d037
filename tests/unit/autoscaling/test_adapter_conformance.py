"""Every adapter conformance case passes, and the case files follow the contract."""

import json
from pathlib import Path

import pytest

from hpalab.autoscaling.adapter.conformance import OPERATIONS, run_case
from hpalab.autoscaling.adapter.exceptions import ERROR_CLASSES
from hpalab.autoscaling.conformance import compare, parse_document
from hpalab.cli.main import run

CASE_DIR = Path(__file__).resolve().parents[2] / "conformance" / "adapter"
FILES = sorted(CASE_DIR.glob("*.json"))
GROUPS = {"naming", "query", "resources", "external", "discovery", "quantity", "flags", "config"}


def _cases():
    for path in FILES:
        fixtures, cases = parse_document(json.loads(path.read_text()), source=str(path))
        for case in cases:
            yield pytest.param(case, fixtures, id=f"{path.stem}:{case['id']}")


@pytest.mark.parametrize(("case", "fixtures"), list(_cases()))
def test_case_passes(case, fixtures):
    output = run_case(case, fixtures)
    assert compare(case["expect"], output) == [], output


@pytest.mark.parametrize(("case", "fixtures"), list(_cases()))
def test_case_follows_the_contract(case, fixtures):
    assert case["source"], "every case names its source"
    assert isinstance(case["derived"], bool)
    assert case["group"] in GROUPS
    assert case["kind"] in OPERATIONS
    if "error" in case["expect"]:
        assert case["expect"]["error"] in ERROR_CLASSES


def test_at_least_80_cases_are_ported_from_upstream_assertions():
    ported = [c for c, _ in (p.values for p in _cases()) if not c["derived"]]
    assert len(ported) >= 80
    assert all(c["source"].startswith("kubernetes-sigs/prometheus-adapter pkg/") for c in ported)


def test_run_case_never_raises_on_garbage():
    assert run_case({"kind": "nope"}, {})["error"] == "config"
    assert run_case({"kind": "build_query", "input": {}}, {})["error"] == "config"
    out = run_case({"kind": "registry_query", "input": {"config": "missing"}}, {})
    assert out["error"] == "config"
    assert "message" in out


def test_cli_checks_every_case_file(capsys):
    for path in FILES:
        assert run(["conformance", "adapter", str(path), "--check"]) == 0
        assert capsys.readouterr().out.rstrip().endswith(" 0 failed")


def test_cli_check_fails_on_a_wrong_expectation(tmp_path, capsys):
    case = {
        "id": "wrong",
        "source": "test",
        "derived": True,
        "group": "naming",
        "kind": "metric_name",
        "input": {"name": {"matches": "^(.*)_total$"}, "series_name": "a_total"},
        "expect": {"metric_name": "b"},
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": [case]}))
    assert run(["conformance", "adapter", str(path), "--check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert json.loads(lines[0]) == {"id": "wrong", "output": {"metric_name": "a"}}
    assert lines[-1] == "0 passed, 1 failed"


def test_a_by_selector_request_matching_no_objects_is_not_found():
    """As upstream's QueryForMetric for an empty name list: the adapter answers 404 ("the
    server could not find the metric M for R"), never an empty list."""
    path = CASE_DIR / "registry.json"
    fixtures, cases = parse_document(json.loads(path.read_text()), source=str(path))
    case = next(c for c in cases if c["kind"] == "registry_query" and "error" not in c["expect"])
    request = case["input"]["request"]
    empty = {**case, "input": {**case["input"], "request": {**request, "names": []}}}
    output = run_case(empty, fixtures)
    assert output["error"] == "not_found"
    assert output["message"].startswith(f"the server could not find the metric {request['metric']}")
    values = {"operation": "by_selector", "resource_label": "pod", "names": [], "vector": []}
    assert run_case({"kind": "match_values", "input": values}, {})["error"] == "not_found"
