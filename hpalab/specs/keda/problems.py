"""Everything wrong with a ``spec.keda``, as ``(path under spec.keda, message, hint)``."""

from __future__ import annotations

import re
from typing import Any

from hpalab.specs.keda.admission import admission_problems
from hpalab.specs.keda.generated import ScalerConfigError, generated_hpa_spec
from hpalab.specs.keda.model import ScaledObjectSpec
from hpalab.specs.keda.quantity import float_quantity, parse_quantity

SCALED_OBJECT_NAME = "sample-app"
"""The ScaledObject's name on hpalab's platforms (the sample app's name, as for the HPA)."""

Problem = tuple[tuple[str | int, ...], str, str | None]


def scaled_object_data(spec: ScaledObjectSpec) -> dict[str, Any]:
    """The spec as KEDA reads it (YAML spellings), its target pointed at the sample app."""
    data = spec.to_yaml_dict()
    data["scaleTargetRef"] = {**data.get("scaleTargetRef", {}), "name": SCALED_OBJECT_NAME}
    return data


def keda_problems(spec: ScaledObjectSpec) -> list[Problem]:
    """KEDA's admission rules, the scalers' configuration errors and what the HPA needs."""
    data = scaled_object_data(spec)
    out: list[Problem] = [
        (path, message, hint)
        for path, message, hint in admission_problems(SCALED_OBJECT_NAME, data)
    ]
    try:
        generated_hpa_spec(SCALED_OBJECT_NAME, data)
    except ScalerConfigError as error:
        return [*out, *_scaler_problems(error, data["triggers"][error.index])]
    for index, trigger in enumerate(data["triggers"]):
        metadata = trigger.get("metadata") or {}
        key = "threshold" if trigger.get("type") == "prometheus" else "value"
        text = str(metadata.get(key, "")).strip()
        value = float(text) if trigger.get("type") == "prometheus" else _amount(text)
        if value is not None and float_quantity(value).value <= 0:
            out.append(
                (
                    ("triggers", index, "metadata", key),
                    f"{key} {text!r} gives the generated HPA a target of 0, which the API "
                    "server refuses",
                    f"use a {key} above 0 (KEDA keeps three decimals: 0.0004 becomes 0)",
                )
            )
    return out


_PARAM = re.compile(r'param(?:eter)? "([A-Za-z]+)"')


def _scaler_problems(error: ScalerConfigError, trigger: dict[str, Any]) -> list[Problem]:
    """One problem per failing parameter, placed at its metadata key where KEDA names it."""
    kind = str(trigger.get("type"))
    prefix = f"error parsing {kind} metadata: "
    text = str(error).replace(prefix + prefix, prefix)
    lines = text.removeprefix(prefix).split("\n") if text.startswith(prefix) else [text]
    hint = (
        "metadata values are strings; thresholds are JSON numbers such as '10' or '0.5' "
        "(not '.5'), booleans true/false"
        if kind == "prometheus"
        else "give metadata.value and metricType: Utilization (whole percent) or AverageValue"
    )
    out: list[Problem] = []
    for line in lines:
        match = _PARAM.search(line)
        where: tuple[str | int, ...] = ("triggers", error.index)
        if match is not None:
            where = (*where, "metadata", match.group(1))
        elif "metric type" in line:
            where = (*where, "metricType")
        out.append((where, line, hint))
    return out


def _amount(text: str) -> float | None:
    try:
        return parse_quantity(text).as_float()
    except ValueError:
        return None
