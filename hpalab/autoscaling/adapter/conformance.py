"""Run one adapter conformance case (contracts/adapter-conformance.md) on the engine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import yaml
from pydantic import ValidationError

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.naming import (
    NameRule,
    Series,
    compile_filters,
    filter_names,
    namers_from_rules,
)
from hpalab.autoscaling.adapter.quantity import format_milli, milli_value
from hpalab.autoscaling.adapter.queries import (
    FixedLabels,
    build_external_query,
    build_query,
    compile_query,
)
from hpalab.autoscaling.adapter.registry import CustomRegistry, discover
from hpalab.autoscaling.adapter.resources import (
    GroupResource,
    ResourceConverter,
    RestMapper,
    group_resource,
    overrides_from,
)
from hpalab.autoscaling.adapter.selectors import (
    Requirement,
    from_data,
    normalize,
    parse_selector,
)
from hpalab.autoscaling.adapter.values import (
    Sample,
    convert_external,
    match_by_name,
    match_by_selector,
    parse_sample_value,
)
from hpalab.specs.adapter import AdapterConfig, load_config_text

Case = Mapping[str, Any]
Fixtures = Mapping[str, Any]


def _config(value: Any, fixtures: Fixtures) -> AdapterConfig:
    if isinstance(value, str):
        value = fixtures.get("configs", {})[value]
    return AdapterConfig.model_validate(value)


def _mapper(value: Any, fixtures: Fixtures) -> RestMapper:
    if isinstance(value, str):
        value = fixtures.get("rest_mappers", {})[value]
    return RestMapper.from_data(value)


def _requirements(data: Mapping[str, Any]) -> list[Requirement]:
    if data.get("metric_selector_string") is not None:
        return parse_selector(str(data["metric_selector_string"]))
    return normalize(from_data(data.get("metric_selector") or []))


def _series_list(items: Sequence[Mapping[str, Any]]) -> list[Series]:
    return [Series.from_data(item) for item in items]


def _converter(data: Case, fixtures: Fixtures) -> ResourceConverter:
    resources = data.get("resources") or {}
    return ResourceConverter.build(
        _mapper(data["rest_mapper"], fixtures),
        template=str(resources.get("template") or ""),
        overrides=overrides_from(resources.get("overrides") or {}),
    )


def _metric_name(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    name = data.get("name") or {}
    rule = NameRule.build(str(name.get("matches") or ""), str(name.get("as") or ""))
    return {"metric_name": rule.metric_name(str(data["series_name"]))}


def _series_filter(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    pairs = [(str(f.get("is") or ""), str(f.get("isNot") or "")) for f in data.get("filters", [])]
    filters = compile_filters(pairs, str(data.get("name_matches") or ""))
    return {"kept": filter_names(filters, data["series_names"])}


def _label_for_resource(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    converter = _converter(data, fixtures)
    requested = group_resource(data["group_resource"])
    try:
        normal = converter.mapper.resource_for(requested.group, requested.resource)
    except AdapterError:
        normal = requested
    if normal in converter.overrides.values():
        return {"label": converter.label_for_resource(normal)}
    return {"label": converter.label_for_resource(requested)}


def _resources_for_series(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    resources, namespaced = _converter(data, fixtures).resources_for_series(
        list(data["series_labels"])
    )
    listed = [{"group": r.group, "resource": r.resource} for r in resources]
    return {"resources_unordered": listed, "namespaced": namespaced}


def _build_query(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    labels = FixedLabels(str(data.get("resource_label", "")), data.get("namespace_label"))
    query = build_query(
        compile_query(str(data["template"])),
        labels,
        series=str(data.get("series", "")),
        resource=GroupResource("", str(data.get("resource_label", ""))),
        namespace=str(data.get("namespace") or ""),
        names=list(data.get("names") or []),
        requirements=_requirements(data),
        extra_group_by=list(data.get("extra_group_by") or []),
    )
    return {"query": query}


def _build_external_query(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    labels = FixedLabels("", data.get("namespace_label"))
    namespaced = data.get("namespaced")
    query = build_external_query(
        compile_query(str(data["template"])),
        labels,
        series=str(data.get("series", "")),
        namespace=str(data.get("namespace") or ""),
        namespaced=namespaced is not False,
        requirements=_requirements(data),
        group_by=str(data.get("group_by") or ""),
        group_by_slice=list(data.get("group_by_slice") or []),
    )
    return {"query": query}


def _custom_registry(data: Case, fixtures: Fixtures) -> CustomRegistry:
    config = _config(data["config"], fixtures)
    mapper = _mapper(data["rest_mapper"], fixtures)
    if "series_by_rule" in data:
        namers = namers_from_rules(config.rules, mapper)
        registry = CustomRegistry(mapper)
        registry.set_series([_series_list(items) for items in data["series_by_rule"]], namers)
        return registry
    by_query = {q: _series_list(items) for q, items in data["series_by_selector"].items()}
    return discover(config, by_query, mapper=mapper).custom


def _registry_query(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    registry = _custom_registry(data, fixtures)
    request = data["request"]
    query = registry.query_for_metric(
        group_resource(request["group_resource"]),
        namespaced=bool(request.get("namespaced", True)),
        metric=str(request["metric"]),
        namespace=str(request.get("namespace") or ""),
        names=list(request.get("names") or []),
        requirements=_requirements(request),
    )
    return {"query": query}


def _registry_list(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    registry = _custom_registry(data, fixtures)
    return {"metrics_unordered": [m.as_data() for m in registry.list_metrics()]}


def _discover_and_list(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    config = _config(data["config"], fixtures)
    by_query = {q: _series_list(items) for q, items in data["series_by_selector"].items()}
    found = discover(config, by_query, mapper=_mapper(data["rest_mapper"], fixtures))
    return {
        "series_requests_unordered": found.requests,
        "metrics_unordered": [m.as_data() for m in found.custom.list_metrics()],
    }


def _external_discover_and_query(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    config = AdapterConfig.model_validate({"externalRules": data["external_rules"]})
    by_query = {q: _series_list(items) for q, items in data["series_by_selector"].items()}
    found = discover(config, by_query, mapper=_mapper(data.get("rest_mapper") or {}, fixtures))
    request = data["request"]
    query = found.external.query_for_metric(
        str(request["metric"]),
        namespace=str(request.get("namespace") or ""),
        requirements=_requirements(request),
    )
    return {"external_metrics_unordered": found.external.list_metrics(), "query": query}


def _external_convert(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    return {"items": convert_external(str(data["metric"]), data["result"])}


def _quantity_format(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    value = parse_sample_value(data["value"])
    milli = milli_value(
        value, nan_as_zero=data.get("context", "custom_metrics") == "custom_metrics"
    )
    return {"quantity": format_milli(milli, binary=data.get("format") == "BinarySI")}


def _match_values(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    vector = [Sample.from_data(item) for item in data.get("vector", [])]
    label, names = str(data["resource_label"]), [str(n) for n in data.get("names", [])]
    if data.get("operation") == "by_name":
        if len(names) != 1:
            raise AdapterError("config", "by_name needs exactly one name")
        return {"items": [match_by_name(vector, resource_label=label, name=names[0]).as_data()]}
    found = match_by_selector(vector, resource_label=label, names=names)
    return {"items": [item.as_data() for item in found]}


def _load_config(data: Case, fixtures: Fixtures) -> dict[str, Any]:
    try:
        if "yaml" in data:
            config = load_config_text(str(data["yaml"]))
        else:
            config = AdapterConfig.model_validate(data["config"] or {})
    except yaml.YAMLError as error:
        message = f"unable to parse metrics discovery config: {error}"
        raise AdapterError("config", message) from error
    mapper = _mapper(data.get("rest_mapper") or {"kinds": []}, fixtures)
    if data.get("compile", True):
        namers_from_rules(config.rules, mapper)
        namers_from_rules(config.external_rules, mapper)
    return {
        "rules": len(config.rules),
        "external_rules": len(config.external_rules),
        "resource_rules": config.resource_rules is not None,
    }


OPERATIONS: dict[str, Callable[[Case, Fixtures], dict[str, Any]]] = {
    "metric_name": _metric_name,
    "series_filter": _series_filter,
    "label_for_resource": _label_for_resource,
    "resources_for_series": _resources_for_series,
    "build_query": _build_query,
    "build_external_query": _build_external_query,
    "label_matcher": _build_external_query,
    "registry_query": _registry_query,
    "registry_list": _registry_list,
    "discover_and_list": _discover_and_list,
    "external_discover_and_query": _external_discover_and_query,
    "external_convert": _external_convert,
    "quantity_format": _quantity_format,
    "match_values": _match_values,
    "load_config": _load_config,
}


def _validation_class(error: ValidationError) -> str:
    kinds = {detail["type"] for detail in error.errors()}
    return "unknown_field" if "extra_forbidden" in kinds else "config"


def run_case(case: Mapping[str, Any], fixtures: Mapping[str, Any]) -> dict[str, Any]:
    """Run one case; returns its output, or ``{"error": <class>, "message": ...}``. Never raises."""
    kind = str(case.get("kind", ""))
    operation = OPERATIONS.get(kind)
    if operation is None:
        return {"error": "config", "message": f"unknown case kind {kind!r}"}
    try:
        return operation(case.get("input") or {}, fixtures)
    except AdapterError as error:
        return {"error": error.kind, "message": error.message}
    except ValidationError as error:
        return {"error": _validation_class(error), "message": str(error)}
    except (KeyError, TypeError, ValueError, IndexError) as error:
        return {"error": "config", "message": f"bad case input: {type(error).__name__}: {error}"}
