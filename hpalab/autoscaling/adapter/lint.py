"""Warnings about adapter configs: the mistakes users report in prometheus-adapter issues.

Checks (``code``: meaning):

- ``no-label-matchers``: the query ignores ``<<.LabelMatchers>>``, so it is not restricted to
  the requested namespace and objects;
- ``no-group-by``: a custom-metrics query aggregates without ``by (<<.GroupBy>>)``, so the
  result is not per object and the adapter finds no value for any pod;
- ``counter-without-rate``: a ``_total`` counter is served raw (ever-growing) instead of rated;
- ``short-rate-window``: a ``rate()`` window below twice the scrape interval, which often holds
  fewer than two samples and yields no value;
- ``short-relist-interval``: the adapter relists series more often than Prometheus scrapes;
- ``metric-not-exposed``: an HPA metric that no rule exposes (the HPA reports
  ``FailedGetPodsMetric``);
- ``duplicate-metric``: two rules expose the same metric; the adapter silently keeps one.

Without discovered series, metric names are only known for rules whose ``seriesQuery`` names
a series literally; the name checks then skip rules that select series by regex.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.naming import MetricNamer, Series, namers_from_rules
from hpalab.autoscaling.adapter.registry import Discovery
from hpalab.autoscaling.adapter.resources import DEFAULT_REST_MAPPER, RestMapper
from hpalab.specs.adapter import AdapterConfig, DiscoveryRule, parse_prometheus_duration

_AGGREGATION = re.compile(
    r"\b(sum|avg|min|max|count|stddev|stdvar|topk|bottomk|quantile|group)\s*(\(|by\b|without\b)"
)
_RATE_WINDOW = re.compile(r"\b(rate|irate|increase)\s*\((?:[^\[\]]|<<[^>]*>>)*\[([^\]:]+)")
_SERIES_NAME = re.compile(r"^\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{|$)")
_NAME_MATCHER = re.compile(r"__name__\s*=\s*\"([^\"]+)\"")


@dataclass(frozen=True)
class LintWarning:
    """One finding: a stable ``code``, where (``rules[0]``, ``spec.hpa``), what and what to do."""

    code: str
    where: str
    message: str
    hint: str


@dataclass(frozen=True)
class HpaMetric:
    """A metric an HPA asks for: ``kind`` is ``Pods``, ``Object`` or ``External``."""

    kind: str
    name: str


def _uses(template: str, field: str) -> bool:
    return re.search(r"<<-?\s*[^>]*\." + field + r"\b", template) is not None


def _literal_series(rule: DiscoveryRule) -> str | None:
    match = _SERIES_NAME.match(rule.series_query) or _NAME_MATCHER.search(rule.series_query)
    return match.group(1) if match else None


def _query_checks(where: str, rule: DiscoveryRule, *, custom: bool) -> list[LintWarning]:
    query = rule.metrics_query
    out = []
    if not _uses(query, "LabelMatchers") and not _uses(query, "LabelValuesByName"):
        out.append(
            LintWarning(
                "no-label-matchers",
                where,
                "metricsQuery does not use <<.LabelMatchers>>: it ignores the namespace and "
                "the objects the HPA asks about",
                "select the series with `<<.Series>>{<<.LabelMatchers>>}`",
            )
        )
    grouped = _uses(query, "GroupBy") or _uses(query, "GroupBySlice")
    if custom and _AGGREGATION.search(query) and not grouped:
        out.append(
            LintWarning(
                "no-group-by",
                where,
                "metricsQuery aggregates without `by (<<.GroupBy>>)`: the result carries no "
                "per-object label, so no pod gets a value",
                "end the aggregation with `by (<<.GroupBy>>)`",
            )
        )
    counter = "_total" in rule.series_query or "_total" in rule.name.matches
    counter = counter and not any("_total" in f.is_not for f in rule.series_filters)
    if counter and not re.search(r"\b(rate|irate|increase)\s*\(", query):
        out.append(
            LintWarning(
                "counter-without-rate",
                where,
                "the rule serves a _total counter without rate(): the value only grows",
                "wrap the series in `rate(...[2m])` (or irate/increase)",
            )
        )
    return out


def _window_checks(where: str, rule: DiscoveryRule, scrape_s: float) -> list[LintWarning]:
    out = []
    for function, window in _RATE_WINDOW.findall(rule.metrics_query):
        try:
            window_s = parse_prometheus_duration(window.strip())
        except ValueError:
            continue
        if window_s < 2 * scrape_s:
            out.append(
                LintWarning(
                    "short-rate-window",
                    where,
                    f"{function}() window {window.strip()} is shorter than twice the scrape "
                    f"interval ({scrape_s:g}s): it often holds fewer than two samples",
                    f"use a window of at least {4 * scrape_s:g}s (four scrapes)",
                )
            )
    return out


def _static_names(namer: MetricNamer, rule: DiscoveryRule) -> set[str] | None:
    literal = _literal_series(rule)
    if literal is None:
        return None
    kept = namer.filter_series([Series(literal, {})])
    if not kept:
        return set()
    try:
        return {namer.name.metric_name(literal)}
    except AdapterError:
        return set()


def _exposed_by_rule(
    rules: Sequence[DiscoveryRule],
    namers: Sequence[MetricNamer],
    discovered: Sequence[Sequence[Series]] | None,
) -> list[set[str] | None]:
    """Names each rule exposes (``None``: unknown without discovery)."""
    out: list[set[str] | None] = []
    for index, (rule, namer) in enumerate(zip(rules, namers, strict=True)):
        if discovered is None:
            out.append(_static_names(namer, rule))
            continue
        names = set()
        for series in discovered[index]:
            try:
                names.add(namer.name.metric_name(series.name))
            except AdapterError:
                continue
        out.append(names)
    return out


def _name_checks(
    prefix: str, exposed: list[set[str] | None], wanted: Sequence[HpaMetric]
) -> list[LintWarning]:
    out = []
    owners: dict[str, list[int]] = defaultdict(list)
    for index, names in enumerate(exposed):
        for name in names or ():
            owners[name].append(index)
    for name, indices in sorted(owners.items()):
        if len(indices) > 1:
            where = ", ".join(f"{prefix}[{i}]" for i in indices)
            out.append(
                LintWarning(
                    "duplicate-metric",
                    where,
                    f"metric {name!r} is exposed by more than one rule; the adapter keeps "
                    "only one of them",
                    "make the rules' series or names mutually exclusive",
                )
            )
    complete = all(names is not None for names in exposed)
    for metric in wanted:
        if metric.name not in owners and complete:
            out.append(
                LintWarning(
                    "metric-not-exposed",
                    "hpa",
                    f"the HPA asks for {metric.kind} metric {metric.name!r} but no rule in "
                    f"{prefix} exposes it (exposed: {sorted(owners) or 'none'})",
                    "fix the metric name or the rule's name.matches/name.as",
                )
            )
    return out


def lint_config(
    config: AdapterConfig,
    *,
    scrape_interval_s: float | None = None,
    relist_interval_s: float | None = None,
    hpa_metrics: Sequence[HpaMetric] = (),
    discovery: Discovery | None = None,
    mapper: RestMapper = DEFAULT_REST_MAPPER,
) -> list[LintWarning]:
    """Every warning for ``config``; raises ``AdapterError`` if a rule does not compile.

    Interval checks run only when the intervals (seconds) are given; with ``discovery`` the
    name checks use the discovered series instead of literal series names.
    """
    out: list[LintWarning] = []
    for prefix, rules in (("rules", config.rules), ("externalRules", config.external_rules)):
        for index, rule in enumerate(rules):
            out += _query_checks(f"{prefix}[{index}]", rule, custom=prefix == "rules")
            if scrape_interval_s:
                out += _window_checks(f"{prefix}[{index}]", rule, scrape_interval_s)
    if (
        scrape_interval_s
        and relist_interval_s is not None
        and relist_interval_s < scrape_interval_s
    ):
        out.append(
            LintWarning(
                "short-relist-interval",
                "adapter",
                f"the metrics relist interval ({relist_interval_s:g}s) is shorter than the "
                f"scrape interval ({scrape_interval_s:g}s): new series flap in and out",
                "set --metrics-relist-interval to at least the scrape interval",
            )
        )
    custom_wanted = [m for m in hpa_metrics if m.kind in ("Pods", "Object")]
    external_wanted = [m for m in hpa_metrics if m.kind == "External"]
    for prefix, rules, wanted, found in (
        ("rules", config.rules, custom_wanted, discovery.custom_series if discovery else None),
        (
            "externalRules",
            config.external_rules,
            external_wanted,
            discovery.external_series if discovery else None,
        ),
    ):
        namers = namers_from_rules(rules, mapper)
        out += _name_checks(prefix, _exposed_by_rule(rules, namers, found), wanted)
    return out
