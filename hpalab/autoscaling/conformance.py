"""Conformance-case files shared by the HPA and adapter engines: shape, running, ``--check``.

A case file is ``{"fixtures": {...}?, "cases": [{"id", "input", "expect", ...}]}``. Each engine
provides ``run_case(case, fixtures) -> output dict`` that never raises (errors are part of the
output). ``--check`` rules: every key of ``expect`` must be in the output with an equal value
(numbers exactly, lists in order, lists under keys ending in ``_unordered`` as multisets); an
``expect.error`` string must be a substring of ``output.error``; other output keys are ignored.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.errors import BadInput

RunCase = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
Compare = Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]]


@dataclass(slots=True)
class CaseResult:
    """The output of one case and, when checked, whether it matched ``expect``."""

    id: str
    output: dict[str, Any]
    passed: bool | None = None
    differences: list[str] = field(default_factory=list)


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            _same(expected[k], actual[k]) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            _same(e, a) for e, a in zip(expected, actual, strict=True)
        )
    return type(expected) is type(actual) and bool(expected == actual)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def compare(expect: Mapping[str, Any], output: Mapping[str, Any]) -> list[str]:
    """Differences between ``expect`` and ``output`` under the ``--check`` rules (empty = pass)."""
    problems: list[str] = []
    for key, expected in expect.items():
        if key not in output:
            problems.append(f"{key}: missing from output (expected {_canonical(expected)})")
            continue
        actual = output[key]
        if key == "error" and isinstance(expected, str):
            if not isinstance(actual, str) or expected not in actual:
                problems.append(f"error: {actual!r} does not contain {expected!r}")
            continue
        if key.endswith("_unordered") and isinstance(expected, list) and isinstance(actual, list):
            if Counter(map(_canonical, expected)) != Counter(map(_canonical, actual)):
                problems.append(
                    f"{key}: expected {_canonical(expected)} in any order, got {_canonical(actual)}"
                )
            continue
        if not _same(expected, actual):
            problems.append(f"{key}: expected {_canonical(expected)}, got {_canonical(actual)}")
    return problems


def parse_document(
    document: Any, *, source: str
) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    """Validate the file shape; return (fixtures, cases). Raises BadInput naming ``source``."""
    hint = 'a case file is {"cases": [{"id": ..., "input": {...}, "expect": {...}}, ...]}'
    if not isinstance(document, Mapping) or not isinstance(document.get("cases"), list):
        raise BadInput(f"{source}: no 'cases' list at the top level", hint=hint)
    fixtures = document.get("fixtures", {})
    if not isinstance(fixtures, Mapping):
        raise BadInput(f"{source}: 'fixtures' must be an object", hint=hint)
    cases: list[Mapping[str, Any]] = []
    seen: set[str] = set()
    for index, case in enumerate(document["cases"]):
        if not isinstance(case, Mapping) or not isinstance(case.get("id"), str):
            raise BadInput(f"{source}: cases[{index}] has no string 'id'", hint=hint)
        if not isinstance(case.get("input"), Mapping):
            raise BadInput(f"{source}: case {case['id']!r} has no 'input' object", hint=hint)
        if case["id"] in seen:
            raise BadInput(f"{source}: duplicate case id {case['id']!r}", hint=hint)
        seen.add(case["id"])
        cases.append(case)
    return fixtures, cases


def run_cases(
    cases: Sequence[Mapping[str, Any]],
    run_case: RunCase,
    *,
    fixtures: Mapping[str, Any],
    check: bool,
    compare_with: Compare | None = None,
) -> list[CaseResult]:
    """Run every case in order; with ``check`` compare each output with its ``expect``.

    A case without an ``expect`` object fails the check. ``compare_with`` replaces the
    default rules (:func:`compare`) for contracts that define their own.
    """
    results: list[CaseResult] = []
    for case in cases:
        try:
            output = run_case(case, fixtures)
        except Exception as error:
            output = {"error": f"{type(error).__name__}: {error}"}
        result = CaseResult(str(case["id"]), output)
        if check:
            expect = case.get("expect")
            if isinstance(expect, Mapping):
                result.differences = (compare_with or compare)(expect, output)
            else:
                result.differences = ["case has no 'expect' object"]
            result.passed = not result.differences
        results.append(result)
    return results
