"""Kubernetes resources <-> Prometheus labels: the REST mapper and the resource converter.

The REST mapper knows a list of kinds and pluralises them like Kubernetes' default mapper
(``Pod`` -> ``pods``, ``Ingress`` -> ``ingresses``, ``NetworkPolicy`` -> ``networkpolicies``).
The resource converter is the adapter's: ``resources.overrides`` first, then the label template
(``<<.Group>>``/``<<.Resource>>``), read backwards through a regular expression for discovery.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.gofmt import GoStruct
from hpalab.autoscaling.adapter.goregex import GoRegexError, GoRegexp, compile_go
from hpalab.autoscaling.adapter.templates import (
    GoTemplate,
    TemplateExecError,
    TemplateParseError,
    parse,
)


@dataclass(frozen=True, order=True)
class GroupResource:
    """A Kubernetes group-resource; ``group`` '' is the core group."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource


NAMESPACES = GroupResource("", "namespaces")
NODES = GroupResource("", "nodes")
PERSISTENT_VOLUMES = GroupResource("", "persistentvolumes")
ROOT_SCOPED = frozenset({NAMESPACES, NODES, PERSISTENT_VOLUMES})


def _plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("s"):
        return lower + "es"
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + "s"


@dataclass(frozen=True)
class MappedKind:
    """One kind the mapper knows."""

    group: str
    kind: str
    namespaced: bool

    @property
    def plural(self) -> str:
        return _plural(self.kind)

    @property
    def singular(self) -> str:
        return self.kind.lower()


@dataclass(frozen=True)
class RestMapper:
    """The kinds a cluster serves; lookups are case-insensitive, singular or plural."""

    kinds: tuple[MappedKind, ...]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RestMapper:
        """From ``{"kinds": [{"group", "kind", "namespaced"}]}``."""
        return cls(
            tuple(
                MappedKind(str(k.get("group", "")), str(k["kind"]), bool(k.get("namespaced", True)))
                for k in data.get("kinds", [])
            )
        )

    def including(self, resources: Iterable[tuple[str, str]]) -> RestMapper:
        """This mapper plus any of ``(group, resource)`` it does not know (e.g. CRDs).

        Used when there is no cluster to ask: a rule's overrides may name custom resources
        that a real adapter would find in its cluster's discovery.
        """
        kinds = list(self.kinds)
        for group, resource in resources:
            if resource and not self._candidates(resource, group or None):
                lower = resource.lower()
                kinds.append(MappedKind(group, lower[:-1] if lower.endswith("s") else lower, True))
        return RestMapper(tuple(kinds))

    def _candidates(self, resource: str, group: str | None) -> list[MappedKind]:
        wanted = resource.lower()
        return [
            k
            for k in self.kinds
            if wanted in (k.plural, k.singular) and (group is None or k.group == group)
        ]

    def resource_for(self, group: str, resource: str) -> GroupResource:
        """Normalise to the plural resource; '' group matches any group (must be unique).

        Raises ``AdapterError('not_found')`` when unknown or ambiguous.
        """
        found = self._candidates(resource, group or None)
        if len(found) != 1:
            what = "ambiguous" if found else "unknown"
            raise AdapterError("not_found", f"{what} resource {GroupResource(group, resource)}")
        return GroupResource(found[0].group, found[0].plural)

    def namespaced(self, resource: GroupResource) -> bool:
        """Whether a (normalised) resource lives in namespaces; unknown ones are assumed to."""
        found = self._candidates(resource.resource, resource.group)
        return found[0].namespaced if found else True

    def singularize(self, resource: str) -> str:
        """The singular of a known resource (any group); raises ``AdapterError('no_label')``."""
        found = self._candidates(resource, None)
        if not found:
            raise AdapterError("no_label", f"unable to singularize unknown resource {resource!r}")
        return found[0].singular


DEFAULT_REST_MAPPER = RestMapper(
    (
        MappedKind("", "Pod", True),
        MappedKind("", "Service", True),
        MappedKind("", "Namespace", False),
        MappedKind("", "Node", False),
        MappedKind("", "PersistentVolume", False),
        MappedKind("apps", "Deployment", True),
        MappedKind("apps", "StatefulSet", True),
        MappedKind("apps", "ReplicaSet", True),
        MappedKind("apps", "DaemonSet", True),
        MappedKind("batch", "Job", True),
        MappedKind("networking.k8s.io", "Ingress", True),
    )
)


def _group_resource_struct(group: str, resource: str) -> GoStruct:
    def stringer() -> str:
        return str(GroupResource(group, resource))

    return GoStruct("schema.GroupResource", {"Group": group, "Resource": resource}, stringer)


@dataclass
class ResourceConverter:
    """The adapter's resource converter for one rule (``resources`` block)."""

    mapper: RestMapper
    template: GoTemplate | None = None
    extractor: GoRegexp | None = None
    overrides: dict[str, GroupResource] = field(default_factory=dict)

    @classmethod
    def build(
        cls, mapper: RestMapper, *, template: str, overrides: Mapping[str, tuple[str, str]]
    ) -> ResourceConverter:
        """Compile a ``resources`` block; raises ``AdapterError('config')`` as the adapter would."""
        converter = cls(mapper)
        if template:
            try:
                converter.template = parse(template)
                pattern = converter.template.execute(
                    _group_resource_struct("(?P<group>.+?)", "(?P<resource>.+?)")
                )
            except (TemplateParseError, TemplateExecError) as error:
                raise AdapterError("config", f"bad label template {template!r}: {error}") from error
            if not pattern:
                raise AdapterError("config", f"label template {template!r} renders empty")
            try:
                converter.extractor = compile_go("^" + pattern + "$")
            except GoRegexError as error:
                raise AdapterError("config", f"label template {template!r}: {error}") from error
            if "resource" not in converter.extractor.compiled.groupindex:
                raise AdapterError(
                    "config", f"label template {template!r} must include <<.Resource>>"
                )
        for label, (group, resource) in overrides.items():
            try:
                converter.overrides[label] = mapper.resource_for(group, resource)
            except AdapterError as error:
                raise AdapterError("config", f"override {label!r}: {error.message}") from error
        return converter

    def label_for_resource(self, resource: GroupResource) -> str:
        """The label naming ``resource`` (overrides first, then the template).

        Raises ``AdapterError`` ``no_label`` (no override, no template, unknown resource),
        ``template`` (execution failed) or ``config`` (the template rendered nothing).
        """
        for label, mapped in self.overrides.items():
            if mapped == resource:
                return label
        if self.template is None:
            raise AdapterError(
                "no_label", f"no override for {resource} and no generic resource label template"
            )
        singular = self.mapper.singularize(resource.resource)
        group = resource.group.replace(".", "_").replace("-", "_")
        try:
            label = self.template.execute(_group_resource_struct(group, singular))
        except TemplateExecError as error:
            raise AdapterError("template", str(error)) from error
        if not label:
            raise AdapterError("config", "empty label produced by label template")
        return label

    def _resource_for_label(self, label: str) -> GroupResource | None:
        if label in self.overrides:
            return self.overrides[label]
        if self.extractor is None:
            return GroupResource("", "")
        match = self.extractor.search(label)
        if match is None:
            return GroupResource("", "")
        groups = self.extractor.compiled.groupindex
        group = match.group("group") if "group" in groups else ""
        try:
            return self.mapper.resource_for(group or "", match.group("resource"))
        except AdapterError:
            return None  # the adapter skips labels it cannot normalise

    def resources_for_series(self, labels: Iterable[str]) -> tuple[list[GroupResource], bool]:
        """Resources named by a series' labels, and whether the series counts as namespaced.

        As in current prometheus-adapter, any label that is not a namespace, node or
        persistent-volume label (even an unmapped one) makes the series namespaced.
        """
        resources: list[GroupResource] = []
        namespaced = False
        for label in labels:
            found = self._resource_for_label(label)
            if found is None:
                continue
            if found.resource:
                resources.append(found)
            if found not in ROOT_SCOPED:
                namespaced = True
        return resources, namespaced


def overrides_from(data: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """``{label: {group, resource}}`` data (or models) as ``{label: (group, resource)}``."""
    out = {}
    for label, value in data.items():
        if isinstance(value, Mapping):
            out[label] = (str(value.get("group", "")), str(value.get("resource", "")))
        else:
            out[label] = (str(value.group), str(value.resource))
    return out


def group_resource(data: Mapping[str, Any] | Sequence[str]) -> GroupResource:
    """A :class:`GroupResource` from ``{group, resource}`` data."""
    if isinstance(data, Mapping):
        return GroupResource(str(data.get("group", "")), str(data.get("resource", "")))
    return GroupResource(str(data[0]), str(data[1]))
