"""What the HPA sees through the adapter: the query and the per-pod values of a Pods metric.

The local platform's embedded HPA and ``hpalab adapter preview`` call these three steps:

1. :func:`~hpalab.autoscaling.adapter.registry.series_queries` -> fetch each from
   ``/api/v1/series`` -> :func:`~hpalab.autoscaling.adapter.registry.discover`;
2. :func:`pods_query` for the HPA's metric and the target's pod names -> run it with
   ``/api/v1/query``;
3. :func:`pod_values` on the returned vector -> per-pod milli-values.
"""

from __future__ import annotations

from collections.abc import Sequence

from hpalab.autoscaling.adapter.registry import Discovery
from hpalab.autoscaling.adapter.resources import GroupResource
from hpalab.autoscaling.adapter.selectors import Requirement
from hpalab.autoscaling.adapter.values import ObjectValue, Sample, match_by_selector

PODS = GroupResource("", "pods")


def pods_query(
    discovery: Discovery,
    *,
    metric: str,
    namespace: str,
    pod_names: Sequence[str],
    selector: Sequence[Requirement] = (),
) -> str:
    """The PromQL the adapter runs for a Pods metric over ``pod_names`` in ``namespace``.

    ``selector`` is the HPA metric's ``metric.selector``, in any order (it is put in Kubernetes
    selector order, as the adapter receives it). Raises
    ``AdapterError('not_found')`` when no rule exposes ``metric`` for namespaced pods, when
    ``pod_names`` is empty, or when the query cannot be built (the adapter answers 404).
    """
    return discovery.custom.query_for_metric(
        PODS,
        namespaced=True,
        metric=metric,
        namespace=namespace,
        names=pod_names,
        requirements=selector,
    )


def pod_values(
    discovery: Discovery, *, metric: str, vector: Sequence[Sample], pod_names: Sequence[str]
) -> list[ObjectValue]:
    """Per-pod values as the custom metrics API serves them (``GetMetricBySelector``).

    Values are milli-units (``int64(v*1000)``, NaN -> 0), in ``pod_names`` order; pods with no
    sample are left out, which the HPA treats as missing metrics.
    """
    label = discovery.custom.resource_label(PODS, namespaced=True, metric=metric)
    return match_by_selector(vector, resource_label=label, names=pod_names)
