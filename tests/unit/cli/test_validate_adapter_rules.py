"""``validate`` (and ``run``, ``up``) refuse what prometheus-adapter refuses at start-up.

Each problem names the field that holds it, for the experiment's rules and for a variant's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hpalab.cli.main import run

SMOKE = (Path(__file__).resolve().parents[3] / "experiments" / "ci-smoke.yaml").read_text()
QUERY = "metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[10s])) by (<<.GroupBy>>)'"
OVERRIDES = "        resources:\n          overrides:\n"

# (id, replace this, with this, line, field path, message)
CASES = [
    (
        "unclosed-query-action",
        QUERY,
        QUERY.replace("<<.GroupBy>>", "<<.GroupBy"),
        33,
        "spec.adapter.rules[0].metricsQuery",
        "unclosed action",
    ),
    (
        "bad-name-matches",
        'matches: "^(.*)_total$"',
        'matches: "^(.*_total$"',
        31,
        "spec.adapter.rules[0].name.matches",
        "cannot compile name.matches",
    ),
    (
        "is-and-isnot",
        "        name:\n",
        "        seriesFilters:\n          - {is: a, isNot: b}\n        name:\n",
        31,
        "spec.adapter.rules[0].seriesFilters[0]",
        "not both",
    ),
    (
        "empty-filter",
        "        name:\n",
        "        seriesFilters:\n          - {}\n        name:\n",
        31,
        "spec.adapter.rules[0].seriesFilters[0]",
        "an empty filter",
    ),
    (
        "bad-filter-regex",
        "        name:\n",
        "        seriesFilters:\n          - {isNot: '(a'}\n        name:\n",
        31,
        "spec.adapter.rules[0].seriesFilters[0].isNot",
        "cannot compile series filter",
    ),
    (
        "unclosed-resources-template",
        OVERRIDES,
        "        resources:\n          template: '<<.Resource'\n          overrides:\n",
        27,
        "spec.adapter.rules[0].resources.template",
        "unclosed action",
    ),
    (
        "unmappable-override",
        "pod: {resource: pod}",
        "pod: {group: apps, resource: pod}",
        29,
        "spec.adapter.rules[0].resources.overrides.pod",
        "unknown resource pod.apps",
    ),
]


def _invoke(capsys, *argv):
    code = run([*map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    ("case", "old", "new", "line", "field", "message"), CASES, ids=[c[0] for c in CASES]
)
def test_validate_refuses_what_the_adapter_refuses(
    capsys, tmp_path, case, old, new, line, field, message
):
    assert old in SMOKE
    path = tmp_path / "exp.yaml"
    path.write_text(SMOKE.replace(old, new, 1))
    code, output = _invoke(capsys, "validate", path)
    assert code == 2, output
    assert "Traceback" not in output
    assert re.search(rf"{re.escape(str(path))}:{line}:\d+: {re.escape(field)}: ", output), output
    assert message in output
    assert "prometheus-adapter would refuse to start" in output
    # run and up load experiments the same way: refused before anything starts
    code, output = _invoke(capsys, "run", path, "--dry-run", "--out", tmp_path / "out")
    assert code == 2, output
    assert field in output
    assert not (tmp_path / "out").exists()


def test_a_variant_that_breaks_a_rule_is_named(capsys, tmp_path):
    patch = 'hpa.metrics[0].pods.target.averageValue: "15"'
    text = SMOKE.replace(patch, patch + "\n        adapter.rules[0].name.matches: '(('")
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    code, output = _invoke(capsys, "validate", path)
    assert code == 2, output
    assert re.search(
        rf"{re.escape(str(path))}:67:\d+: spec.variants\[1\]: variant 'target-15' makes "
        r"spec.adapter.rules\[0\].name.matches invalid: cannot compile name.matches",
        output,
    ), output


def test_up_refuses_a_bad_rule_before_starting(capsys, tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(SMOKE.replace('matches: "^(.*)_total$"', 'matches: "^(.*_total$"'))
    lab = tmp_path / "lab"
    code, output = _invoke(capsys, "up", path, "--lab-dir", lab)
    assert code == 2, output
    assert "spec.adapter.rules[0].name.matches" in output
    assert not lab.exists()


def test_lint_names_name_matches_not_a_series_filter(capsys, tmp_path):
    path = tmp_path / "adapter.yaml"
    path.write_text(
        "rules:\n  - seriesQuery: 'x_total'\n    name: {matches: '^(x'}\n"
        "    metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n"
    )
    code, output = _invoke(capsys, "adapter", "lint", path)
    assert code == 2, output
    assert re.search(rf"{re.escape(str(path))}:3:\d+: rules\[0\].name.matches: ", output), output
    assert "series filter" not in output
