"""Kubernetes selectors -> PromQL matchers, and the adapter's refusals."""

import pytest

from hpalab.autoscaling.adapter import AdapterError
from hpalab.autoscaling.adapter.selectors import (
    Requirement,
    normalize,
    parse_selector,
    selector_string,
    to_matchers,
)


@pytest.mark.parametrize(
    ("text", "matchers"),
    [
        ("app=web", ['app="web"']),
        ("app==web", ['app="web"']),
        ("app!=web", ['app!="web"']),
        ("app in (b,a,b)", ['app=~"a|b"']),
        ("app notin (a)", ['app!~"a"']),
        ("app", ['app!=""']),
        ("!app", ['app=""']),
        ("z=1,a=2", ['a="2"', 'z="1"']),
        ("", []),
        ("app=,x", ['app=""', 'x!=""']),
    ],
)
def test_operators_map_to_promql(text, matchers):
    assert to_matchers(parse_selector(text))[0] == matchers


@pytest.mark.parametrize(
    ("requirement", "kind"),
    [
        (Requirement("a", "gt", ("1",)), "unsupported_operator"),
        (Requirement("a", "lt", ("1",)), "unsupported_operator"),
        (Requirement("a", "in", ()), "malformed_query"),
        (Requirement("a", "exists", ("x",)), "values_not_supported"),
        (Requirement("", "=", ("x",)), "label_not_specified"),
        (Requirement("a", "~", ("x",)), "unsupported_operator"),
    ],
)
def test_refusals(requirement, kind):
    with pytest.raises(AdapterError) as caught:
        to_matchers([requirement])
    assert caught.value.kind == kind


@pytest.mark.parametrize("text", ["app in a", "app in ()", "=x", "app in (a", "a b", "a>"])
def test_malformed_selector_strings(text):
    with pytest.raises(AdapterError) as caught:
        parse_selector(text)
    assert caught.value.kind == "malformed_query"


def test_values_by_name_and_round_trip():
    reqs = normalize(
        [Requirement("code", "in", ("500", "200", "500")), Requirement("app", "=", ("w",))]
    )
    assert to_matchers(reqs)[1] == {"app": "w", "code": "200|500"}
    assert selector_string(reqs) == "app=w,code in (200,500)"
    assert parse_selector(selector_string(reqs)) == reqs
