"""Query results mapped back to objects, as the custom and external metrics APIs serve them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.quantity import format_milli, milli_value


@dataclass(frozen=True)
class Sample:
    """One element of an instant vector: labels and a float value (NaN allowed)."""

    labels: Mapping[str, str]
    value: float

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Sample:
        """From ``{labels|metric: {...}, value: 1.5 | "NaN" | [ts, "1.5"]}``."""
        labels = data.get("labels", data.get("metric", {})) or {}
        return cls({str(k): str(v) for k, v in labels.items()}, parse_sample_value(data["value"]))


def parse_sample_value(raw: Any) -> float:
    """A Prometheus sample value: a number, a string ('NaN', '+Inf') or ``[ts, "v"]``."""
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        raw = raw[1]
    return float(raw)


@dataclass(frozen=True)
class ObjectValue:
    """The value the custom metrics API serves for one object."""

    name: str
    milli: int

    @property
    def quantity(self) -> str:
        return format_milli(self.milli)

    def as_data(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.quantity, "value_milli": self.milli}


def values_by_name(vector: Sequence[Sample], resource_label: str) -> dict[str, float]:
    """Object name -> sample value; a later sample with the same name wins, as in the adapter.

    Samples without the label are kept under the empty name (they never match an object).
    """
    return {sample.labels.get(resource_label, ""): sample.value for sample in vector}


def match_by_selector(
    vector: Sequence[Sample], *, resource_label: str, names: Sequence[str]
) -> list[ObjectValue]:
    """GetMetricBySelector: one value per listed object that has a sample, in list order.

    Objects without a sample are left out (the HPA counts them as missing); NaN becomes 0.
    No objects at all is ``not_found``, never an empty list: the adapter builds no query for
    them and answers 404.
    """
    if not names:
        raise AdapterError("not_found", "no objects match the selector")
    by_name = values_by_name(vector, resource_label)
    return [
        ObjectValue(name, milli_value(by_name[name], nan_as_zero=True))
        for name in names
        if name in by_name
    ]


def match_by_name(vector: Sequence[Sample], *, resource_label: str, name: str) -> ObjectValue:
    """GetMetricByName: the value of one object; ``not_found`` if the result lacks it."""
    if not vector:
        raise AdapterError("not_found", f"no results for object {name!r}")
    by_name = values_by_name(vector, resource_label)
    if name not in by_name:
        raise AdapterError("not_found", f"no result for object {name!r} matched its name")
    return ObjectValue(name, milli_value(by_name[name], nan_as_zero=True))


def convert_external(metric: str, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """External metric items from a /api/v1/query ``data`` object (vector or scalar).

    Raises ``AdapterError('unexpected_result_type')`` for matrix and string results.
    """
    kind = result.get("resultType")
    if kind == "scalar":
        value = parse_sample_value(result["result"])
        return [_external_item(metric, {}, value)]
    if kind != "vector":
        raise AdapterError(
            "unexpected_result_type", f"encountered an unexpected query result type {kind!r}"
        )
    items = []
    for entry in result.get("result", []):
        sample = Sample.from_data(entry)
        items.append(_external_item(metric, dict(sample.labels), sample.value))
    return items


def _external_item(metric: str, labels: dict[str, str], value: float) -> dict[str, Any]:
    milli = milli_value(value, nan_as_zero=False)
    return {
        "metric_name": metric,
        "metric_labels": labels,
        "value": format_milli(milli),
        "value_milli": milli,
    }
