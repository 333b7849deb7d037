"""What prometheus-adapter checks at start-up, field by field, every problem at once.

The adapter refuses to start on the first rule that does not compile; here each part of each
rule is compiled on its own so that every problem is reported with the field that holds it
(``rules[0].name.matches``, ``rules[1].seriesFilters[0]``), which is what ``hpalab validate``,
``hpalab run`` and ``hpalab adapter lint`` print.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.naming import NameRule, SeriesFilter
from hpalab.autoscaling.adapter.queries import compile_query
from hpalab.autoscaling.adapter.resources import DEFAULT_REST_MAPPER, ResourceConverter, RestMapper
from hpalab.specs.adapter import AdapterConfig, DiscoveryRule

FieldPath = tuple[str | int, ...]


def config_problems(
    config: AdapterConfig, *, mapper: RestMapper | None = None
) -> list[tuple[FieldPath, str]]:
    """``(field path, message)`` for each reason the adapter would refuse ``config``.

    Without ``mapper`` (no cluster to ask), resources named in overrides that the built-in
    mapper does not know are taken as custom resources, as a cluster with their CRDs would,
    except in Kubernetes' own API groups (``apps``, ``batch``...), whose resources are known.
    """
    if mapper is None:
        builtin = {kind.group for kind in DEFAULT_REST_MAPPER.kinds if kind.group}
        custom = [(g, r) for g, r in config.override_resources() if g not in builtin]
        mapper = DEFAULT_REST_MAPPER.including(custom)
    out = []
    for key, rules in (("rules", config.rules), ("externalRules", config.external_rules)):
        for index, rule in enumerate(rules):
            out += [((key, index, *path), text) for path, text in rule_problems(rule, mapper)]
    return out


def rule_problems(rule: DiscoveryRule, mapper: RestMapper) -> list[tuple[FieldPath, str]]:
    """``(field path within the rule, message)`` for each part of ``rule`` that fails."""
    out: list[tuple[FieldPath, str]] = []
    for index, item in enumerate(rule.series_filters):
        where: FieldPath = ("seriesFilters", index)
        if item.is_ and item.is_not:
            out.append((where, "a filter takes `is` or `isNot`, not both"))
        elif not item.is_ and not item.is_not:
            out.append((where, "an empty filter: give it `is` or `isNot`"))
        else:
            field = "is" if item.is_ else "isNot"
            out += _failure((*where, field), partial(SeriesFilter.build, item.is_, item.is_not))
    matches, as_ = rule.name.matches, rule.name.as_
    try:
        NameRule.build(matches, as_)
    except AdapterError as error:
        field = "as" if "'as'" in error.message else "matches"
        out.append((("name", field), error.message))
    template = rule.resources.template
    out += _failure(
        ("resources", "template"),
        lambda: ResourceConverter.build(mapper, template=template, overrides={}),
    )
    for label, target in rule.resources.overrides.items():
        pair = {label: (target.group, target.resource)}
        out += _failure(
            ("resources", "overrides", label),
            partial(ResourceConverter.build, mapper, template="", overrides=pair),
        )
    out += _failure(("metricsQuery",), lambda: compile_query(rule.metrics_query))
    return out


def _failure(where: FieldPath, compile_part: Callable[[], object]) -> list[tuple[FieldPath, str]]:
    try:
        compile_part()
    except AdapterError as error:
        return [(where, error.message)]
    return []
