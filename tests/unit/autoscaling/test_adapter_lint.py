"""hpalab's adapter lint: one test per mistake users report, and a clean config."""

import pytest

from hpalab.autoscaling.adapter import DEFAULT_REST_MAPPER, Series, discover
from hpalab.autoscaling.adapter.lint import HpaMetric, lint_config
from hpalab.specs.adapter import AdapterConfig, default_config

GOOD = {
    "seriesQuery": 'http_requests_total{namespace!="",pod!=""}',
    "resources": {
        "overrides": {"namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}
    },
    "name": {"matches": "^(.*)_total$", "as": "${1}_per_second"},
    "metricsQuery": "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)",
}


def _codes(rules, **kwargs):
    config = AdapterConfig.model_validate({"rules": rules})
    return [w.code for w in lint_config(config, **kwargs)]


def test_good_rule_is_clean():
    assert (
        _codes(
            [GOOD],
            scrape_interval_s=15,
            relist_interval_s=60,
            hpa_metrics=[HpaMetric("Pods", "http_requests_per_second")],
        )
        == []
    )


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("sum(rate(<<.Series>>[1m])) by (<<.GroupBy>>)", "no-label-matchers"),
        ("sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m]))", "no-group-by"),
        ("avg by (job) (rate(<<.Series>>{<<.LabelMatchers>>}[1m]))", "no-group-by"),
        ("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)", "counter-without-rate"),
        ("sum(rate(<<.Series>>{<<.LabelMatchers>>}[20s])) by (<<.GroupBy>>)", "short-rate-window"),
        ("sum(irate(<<.Series>>{<<.LabelMatchers>>}[15s])) by (<<.GroupBy>>)", "short-rate-window"),
    ],
)
def test_query_mistakes(query, code):
    assert _codes([{**GOOD, "metricsQuery": query}], scrape_interval_s=15) == [code]


def test_window_of_exactly_two_scrapes_is_fine():
    query = "sum(rate(<<.Series>>{<<.LabelMatchers>>}[30s])) by (<<.GroupBy>>)"
    assert _codes([{**GOOD, "metricsQuery": query}], scrape_interval_s=15) == []


def test_short_relist_interval():
    assert _codes([GOOD], scrape_interval_s=30, relist_interval_s=10) == ["short-relist-interval"]


def test_hpa_metric_nobody_exposes():
    codes = _codes([GOOD], hpa_metrics=[HpaMetric("Pods", "http_requests_total")])
    assert codes == ["metric-not-exposed"]


def test_external_metric_needs_an_external_rule():
    codes = _codes([GOOD], hpa_metrics=[HpaMetric("External", "http_requests_per_second")])
    assert codes == ["metric-not-exposed"]


def test_two_rules_exposing_the_same_name():
    other = {**GOOD, "seriesQuery": 'http_requests_total{pod!=""}'}
    assert _codes([GOOD, other]) == ["duplicate-metric"]


def test_regex_series_queries_cannot_be_named_without_discovery():
    regex_rule = {**GOOD, "seriesQuery": '{__name__=~"http_.*_total",pod!=""}'}
    assert _codes([regex_rule], hpa_metrics=[HpaMetric("Pods", "nope")]) == []


def test_discovered_series_resolve_regex_rules():
    regex_rule = {**GOOD, "seriesQuery": '{__name__=~"http_.*_total",pod!=""}'}
    config = AdapterConfig.model_validate(
        {"rules": [regex_rule, {**regex_rule, "seriesQuery": "x"}]}
    )
    series = [Series("http_requests_total", {"namespace": "a", "pod": "b"})]
    found = discover(
        config, {regex_rule["seriesQuery"]: series, "x": series}, mapper=DEFAULT_REST_MAPPER
    )
    warnings = lint_config(config, hpa_metrics=[HpaMetric("Pods", "nope")], discovery=found)
    assert sorted(w.code for w in warnings) == ["duplicate-metric", "metric-not-exposed"]
    assert all(w.hint for w in warnings)


def test_the_adapters_default_config_is_clean():
    config = default_config(rate_interval_s=60)
    assert lint_config(config, scrape_interval_s=15, relist_interval_s=60) == []


def test_counter_rule_excluding_counters_by_filter_is_clean():
    rule = {
        **GOOD,
        "seriesFilters": [{"isNot": ".*_total$"}],
        "metricsQuery": "<<.Series>>{<<.LabelMatchers>>}",
    }
    assert _codes([rule]) == []
