"""The value a prometheus trigger reads from one instant-query response (``ExecutePromQuery``).

Exactly one vector element is expected. With ``ignoreNullValues`` (the default) an empty
result, an element without a ``value`` (a matrix result) and NaN/±Inf all read as ``0``: a lost
scrape target looks like no load. A ``null`` sample reads as ``-1`` without error. Activity is
``value > activationThreshold`` on the raw float; the metric handed to the HPA is KEDA's
three-decimal quantity of the value.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from hpalab.specs.keda.quantity import Quantity, float_quantity

# decimal digits, or a hex mantissa with a binary exponent (the only form where Go allows '_')
_GO_FLOAT = re.compile(
    r"[+-]?(?:[0-9]*\.?[0-9]*(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:_?[0-9a-fA-F])*\.?[0-9a-fA-F_]*[pP][+-]?[0-9]+|inf|infinity|nan)",
    re.IGNORECASE,
)


class PrometheusReadError(Exception):
    """The read failed the way KEDA fails; ``kind`` is the conformance error class."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True, slots=True)
class TriggerReading:
    """One successful read: the raw value, the activity and the metric the HPA gets."""

    value: float
    is_active: bool
    metric: Quantity


def go_parse_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)``; raises PrometheusReadError with Go's message."""
    if not text or _GO_FLOAT.fullmatch(text) is None or text in ("+", "-", ".", "+.", "-."):
        raise PrometheusReadError(
            "invalid_value", f'strconv.ParseFloat: parsing "{text}": invalid syntax'
        )
    plain = text.replace("_", "")
    try:
        value = float.fromhex(plain) if "x" in plain.lower() else float(plain)
    except ValueError:
        raise PrometheusReadError(
            "invalid_value", f'strconv.ParseFloat: parsing "{text}": invalid syntax'
        ) from None
    if math.isinf(value) and "inf" not in text.lower():
        raise PrometheusReadError(
            "invalid_value", f'strconv.ParseFloat: parsing "{text}": value out of range'
        )
    return value


def _field(obj: dict[str, Any], name: str) -> Any:
    """A struct field as encoding/json finds it: exact key first, then case-insensitively."""
    if name in obj:
        return obj[name]
    for key, value in obj.items():
        if key.lower() == name:
            return value
    return None


def _results(body: str) -> list[Any]:
    """``data.result`` decoded into KEDA's ``promQueryResult`` shape, or a decode error."""
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        if error.pos >= len(body.rstrip(" \t\r\n")):
            raise PrometheusReadError("decode", "unexpected end of JSON input") from None
        char = body[error.pos]
        where = (
            "looking for beginning of value"
            if error.msg == "Expecting value"
            else "after object key:value pair"
            if error.msg.startswith("Expecting ',' delimiter")
            else "in JSON input"
        )
        raise PrometheusReadError("decode", f"invalid character '{char}' {where}") from None
    except ValueError as error:
        raise PrometheusReadError("decode", str(error)) from None
    if document is None:
        return []
    if not isinstance(document, dict):
        raise _mismatch(document, "", go_type="scalers.promQueryResult")
    data = _field(document, "data")
    if data is None:
        return []
    if not isinstance(data, dict):
        raise _mismatch(data, "promQueryResult.data", go_type="struct")
    result = _field(data, "result")
    if result is None:
        return []
    if not isinstance(result, list) or any(not isinstance(r, dict | None) for r in result):
        bad = result if not isinstance(result, list) else next(r for r in result if r is not None)
        raise _mismatch(bad, "promQueryResult.data.result", go_type="struct")
    return result


def _reject_constant(name: str) -> float:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _mismatch(value: Any, field: str, *, go_type: str) -> PrometheusReadError:
    kind = {bool: "bool", str: "string", list: "array", dict: "object"}.get(type(value), "number")
    where = f"Go struct field {field}" if field else "Go value"
    return PrometheusReadError(
        "decode", f"json: cannot unmarshal {kind} into {where} of type {go_type}"
    )


def read_response(status_code: int, body: str, *, ignore_null_values: bool, query: str) -> float:
    """The float ``ExecutePromQuery`` returns for one HTTP response; raises on its errors."""
    if not 200 <= status_code <= 299:
        raise PrometheusReadError(
            "http_status", f"prometheus query api returned error. status: {status_code}"
        )
    results = _results(body)
    if not results:
        if ignore_null_values:
            return 0.0
        raise PrometheusReadError(
            "empty_result",
            "prometheus metrics 'prometheus' target may be lost, the result is empty",
        )
    if len(results) > 1:
        raise PrometheusReadError(
            "multiple_elements", f"prometheus query {query} returned multiple elements"
        )
    values = _field(results[0] or {}, "value") or []
    if not isinstance(values, list):
        raise _mismatch(values, "promQueryResult.data.result.value", go_type="[]interface {}")
    if not values:
        if ignore_null_values:
            return 0.0
        raise PrometheusReadError(
            "empty_value_list",
            "prometheus metrics 'prometheus' target may be lost, the value list is empty",
        )
    if len(values) < 2:
        raise PrometheusReadError(
            "not_enough_values", f"prometheus query {query} didn't return enough values"
        )
    sample = values[1]
    if sample is None:
        return -1.0
    if not isinstance(sample, str):
        # upstream panics on a non-string sample (an interface conversion)
        raise PrometheusReadError("decode", f"sample value {sample!r} is not a string")
    value = go_parse_float(sample)
    if math.isnan(value) or math.isinf(value):
        if ignore_null_values:
            return 0.0
        shown = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
        raise PrometheusReadError("not_finite", f"prometheus query returns {shown}")
    return value


def reading(value: float, *, activation_threshold: float) -> TriggerReading:
    """Activity and the HPA's metric for a value (``GetMetricsAndActivity``)."""
    return TriggerReading(value, value > activation_threshold, float_quantity(value))
