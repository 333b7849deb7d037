"""The Go text/template subset: rendering byte for byte, and Go's parse/exec errors."""

import pytest

from hpalab.autoscaling.adapter.gofmt import GoStruct, go_quote, go_sprint
from hpalab.autoscaling.adapter.templates import TemplateExecError, TemplateParseError, parse

ARGS = GoStruct(
    "naming.queryTemplateArgs",
    {
        "Series": "http_requests_total",
        "LabelMatchers": 'namespace="shop",pod=~"a|b"',
        "LabelValuesByName": {"pod": "a|b", "namespace": "shop"},
        "GroupBy": "pod,container",
        "GroupBySlice": ["pod", "container"],
    },
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("<<.Series>>", "http_requests_total"),
        ("<<.LabelValuesByName>>", "map[namespace:shop pod:a|b]"),
        ("<<.GroupBySlice>>", "[pod container]"),
        ('<<index .LabelValuesByName "pod">>', "a|b"),
        ('<<index .LabelValuesByName "nope">>', ""),
        ("<<.LabelValuesByName.pod>>", "a|b"),
        ("<<.LabelValuesByName.nope>>", "<no value>"),
        ("<<index .GroupBySlice 1>>", "container"),
        ("<<len .GroupBySlice>>", "2"),
        ("<<range .GroupBySlice>>[<<.>>]<<end>>", "[pod][container]"),
        ("<<range $k, $v := .LabelValuesByName>><<$k>>=<<$v>>;<<end>>", "namespace=shop;pod=a|b;"),
        ("<<range .Nothing>>x<<else>>empty<<end>>", "empty"),
        ('<<if eq .Series "x">>a<<else if .GroupBy>>b<<else>>c<<end>>', "b"),
        ("<<with .GroupBy>>(<<.>>)<<end>>", "(pod,container)"),
        ("a  <<- .Series ->>  b", "ahttp_requests_totalb"),
        ("a<</* note */>>b", "ab"),
        (
            '<<printf "%s{%s}" .Series .LabelMatchers>>',
            'http_requests_total{namespace="shop",pod=~"a|b"}',
        ),
        ('<<printf "%q" .GroupBy>>', '"pod,container"'),
        ("<<.Series | len>>", "19"),
        ('<<print 1 2 "x" 3>>', "1 2x3"),
        ("<<$x := .GroupBy>><<$x>>", "pod,container"),
        ('<<"a>>b">>', "a>>b"),
        ("<<not .Series>>", "false"),
        ("line1\n<<.Series>>\n", "line1\nhttp_requests_total\n"),
    ],
)
def test_renders_like_go(template, expected):
    data = GoStruct(ARGS.type_name, {**ARGS.fields, "Nothing": []})
    assert parse(template).execute(data) == expected


@pytest.mark.parametrize(
    "template",
    [
        '<<join .GroupBySlice ",">>',
        "<<.Series",
        "<<if .Series>>x",
        "<<end>>",
        "<<else>>",
        "<<(.Series>>",
    ],
)
def test_parse_errors(template):
    with pytest.raises(TemplateParseError):
        parse(template)


@pytest.mark.parametrize(
    "template",
    ["<<.Labels>>", "<<.Series.Foo>>", "<<index .GroupBySlice 5>>", "<<$nope>>", "<<.Series 1>>"],
)
def test_execution_errors(template):
    with pytest.raises(TemplateExecError):
        parse(template).execute(ARGS)


def test_group_resource_prints_with_its_string_method():
    gr = GoStruct(
        "schema.GroupResource",
        {"Group": "apps", "Resource": "deployments"},
        lambda: "deployments.apps",
    )
    assert parse("<<.>>|<<.Group>>").execute(gr) == "deployments.apps|apps"


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("a", '"a"'),
        ('a"b', '"a\\"b"'),
        ("a\\b", '"a\\\\b"'),
        ("\n\t", '"\\n\\t"'),
        ("\x01", '"\\x01"'),
        ("é", '"é"'),
    ],
)
def test_go_quote(text, quoted):
    assert go_quote(text) == quoted


def test_go_sprint_values():
    assert go_sprint([]) == "[]"
    assert go_sprint({}) == "map[]"
    assert go_sprint(True) == "true"
    assert go_sprint(2.5) == "2.5"
    assert go_sprint(1e21) == "1e+21"
