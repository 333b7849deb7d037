"""The adapter config model: strict keys, nulls, the default config, durations."""

import pytest
import yaml
from pydantic import ValidationError

from hpalab.specs.adapter import (
    AdapterConfig,
    default_config,
    load_config_text,
    parse_prometheus_duration,
    prometheus_duration,
)


def test_unknown_keys_are_rejected_at_every_level():
    for bad in (
        {"rule": []},
        {"rules": [{"metricQuery": "x"}]},
        {"rules": [{"name": {"matches": "x", "to": "y"}}]},
        {"rules": [{"resources": {"overrides": {"pod": {"resource": "pod", "kind": "Pod"}}}}]},
        {"resourceRules": {"cpu": {"query": "x"}}},
    ):
        with pytest.raises(ValidationError) as caught:
            AdapterConfig.model_validate(bad)
        assert {e["type"] for e in caught.value.errors()} == {"extra_forbidden"}


def test_adapter_key_names_and_nulls():
    config = AdapterConfig.model_validate(
        {
            "rules": [
                {
                    "seriesQuery": "up",
                    "seriesFilters": None,
                    "name": {"matches": "^(.*)$", "as": "$1"},
                    "resources": {"namespaced": False},
                }
            ]
        }
    )
    rule = config.rules[0]
    assert rule.series_filters == []
    assert rule.name.as_ == "$1"
    assert rule.resources.namespaced is False
    assert config.to_yaml_dict()["rules"][0]["name"] == {"matches": "^(.*)$", "as": "$1"}


def test_bad_window_is_rejected():
    with pytest.raises(ValidationError):
        AdapterConfig.model_validate({"resourceRules": {"window": "five minutes"}})


def test_default_config_matches_config_gen():
    config = default_config(rate_interval_s=90, label_prefix="kube_")
    assert len(config.rules) == 6
    assert config.rules[4].metrics_query == (
        "sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m30s])) by (<<.GroupBy>>)"
    )
    assert config.rules[3].series_query == '{kube_namespace!="",__name__!~"^container_.*"}'
    assert config.rules[3].resources.template == "kube_<<.Resource>>"
    assert config.resource_rules is not None
    assert config.resource_rules.window == "1m30s"
    assert config.resource_rules.cpu.container_label == "kube_container"
    dumped = yaml.safe_dump(config.to_yaml_dict())
    assert AdapterConfig.model_validate(yaml.safe_load(dumped)) == config


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (300, "5m"), (90, "1m30s"), (0.5, "500ms"), (3600, "1h"), (86400 * 8, "1w1d")],
)
def test_prometheus_durations(seconds, text):
    assert prometheus_duration(seconds) == text
    assert parse_prometheus_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "1.5m", "5 m"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_prometheus_duration(text)


def test_load_config_text_is_strict_like_the_adapter():
    assert load_config_text("") == AdapterConfig()
    assert load_config_text("rules:\n- seriesQuery: up\n").rules[0].series_query == "up"
    with pytest.raises(yaml.YAMLError, match="already set"):
        load_config_text("rules: []\nrules: []\n")
    with pytest.raises(ValidationError):
        load_config_text("rules:\n- seriesQuery: up\n  seriesquery: up\n")
