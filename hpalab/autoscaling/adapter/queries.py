"""The ``metricsQuery`` template and the query builder, byte for byte like the adapter's.

Template fields: ``.Series`` (series name), ``.LabelMatchers`` (comma-joined matchers),
``.LabelValuesByName`` (label -> '|'-joined values), ``.GroupBy`` (comma-joined labels),
``.GroupBySlice`` (the same as a list).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.gofmt import GoStruct
from hpalab.autoscaling.adapter.resources import NAMESPACES, GroupResource
from hpalab.autoscaling.adapter.selectors import (
    Requirement,
    label_eq,
    label_matches,
    to_matchers,
)
from hpalab.autoscaling.adapter.templates import (
    GoTemplate,
    TemplateExecError,
    TemplateParseError,
    parse,
)


class LabelSource(Protocol):
    """Anything that names the label of a resource (the rule's resource converter)."""

    def label_for_resource(self, resource: GroupResource) -> str: ...


@dataclass(frozen=True)
class FixedLabels:
    """A label source with explicit labels (the upstream query-builder tests' mock).

    ``namespace_label`` ``None`` means the rule maps no label to namespaces.
    """

    resource_label: str
    namespace_label: str | None

    def label_for_resource(self, resource: GroupResource) -> str:
        if resource == NAMESPACES:
            if self.namespace_label is None:
                raise AdapterError("no_namespace_label", "no label maps to namespaces")
            return self.namespace_label
        return self.resource_label


def compile_query(template: str) -> GoTemplate:
    """Parse a ``metricsQuery``; raises ``AdapterError('template_parse')``."""
    try:
        return parse(template)
    except TemplateParseError as error:
        raise AdapterError(
            "template_parse", f"unable to parse metrics query template {template!r}: {error}"
        ) from error


def _namespace_label(labels: LabelSource) -> str:
    try:
        return labels.label_for_resource(NAMESPACES)
    except AdapterError as error:
        raise AdapterError(
            "no_namespace_label",
            f"the request names a namespace but no label maps to namespaces: {error.message}",
            hint="add an override such as `namespace: {resource: namespace}` to the rule",
        ) from error


def _render(template: GoTemplate, args: GoStruct) -> str:
    try:
        query = template.execute(args)
    except TemplateExecError as error:
        raise AdapterError("template", f"metrics query template failed: {error}") from error
    if not query:
        raise AdapterError("empty_query", "empty query produced by metrics query template")
    return query


def _args(
    series: str, exprs: list[str], values: dict[str, str], group_by: str, group_by_slice: list[str]
) -> GoStruct:
    return GoStruct(
        "naming.queryTemplateArgs",
        {
            "Series": series,
            "LabelMatchers": ",".join(exprs),
            "LabelValuesByName": values,
            "GroupBy": group_by,
            "GroupBySlice": group_by_slice,
        },
    )


def build_query(
    template: GoTemplate,
    labels: LabelSource,
    *,
    series: str,
    resource: GroupResource,
    namespace: str,
    names: Sequence[str],
    requirements: Sequence[Requirement] = (),
    extra_group_by: Sequence[str] = (),
) -> str:
    """The custom-metrics query for ``names`` of ``resource`` (``namespace`` '' = root scoped).

    Matchers come in this order: the metric selector's, the namespace's, then the object
    names' (``=`` for one name, ``=~`` with a '|' alternation for several).
    """
    parts = list(requirements)
    if namespace:
        parts.append(Requirement(_namespace_label(labels), "=", (namespace,)))
    exprs, values = to_matchers(parts)
    resource_label = labels.label_for_resource(resource)
    target = "|".join(names)
    exprs.append((label_matches if len(names) > 1 else label_eq)(resource_label, target))
    values[resource_label] = target
    group_by = [resource_label, *extra_group_by]
    return _render(template, _args(series, exprs, values, ",".join(group_by), group_by))


def build_external_query(
    template: GoTemplate,
    labels: LabelSource,
    *,
    series: str,
    namespace: str,
    namespaced: bool = True,
    requirements: Sequence[Requirement] = (),
    group_by: str = "",
    group_by_slice: Sequence[str] = (),
) -> str:
    """The external-metrics query; the namespace matcher only when ``namespaced``."""
    parts = list(requirements)
    if namespaced and namespace:
        parts.append(Requirement(_namespace_label(labels), "=", (namespace,)))
    exprs, values = to_matchers(parts)
    return _render(template, _args(series, exprs, values, group_by, list(group_by_slice)))
