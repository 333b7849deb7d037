"""The search space of ``hpalab tune``: ``--param PATH=SPEC`` parsed and applied to a spec.

A PATH is any field path under ``spec``, as in ``matrix`` (``hpa.maxReplicas``,
``hpa.metrics[0].pods.target.averageValue``). A SPEC is one of:

- ``LOW..HIGH``: a range, integer when both ends are integers (``0..120``, ``5..40``);
- ``log:LOW..HIGH``: the same, searched on a log scale (``log:1..100``);
- ``A,B,C``: a list of values (YAML scalars: ``Max,Min``, ``true,false``);
- ``window:30s,1m,2m``: for a PromQL field (an adapter rule's ``metricsQuery``), the
  experiment's query with its range selector (``[1m]``) replaced by each window.

A value is written with the type the field has in the experiment: a quantity field held as a
string (``averageValue: "10"``) gets ``"17"``. Every choice is checked before any simulation
runs: the lowest and highest value are applied and the spec validated.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from hpalab.errors import UsageError
from hpalab.specs import ExperimentSpec
from hpalab.specs.hpa import hpa_problems
from hpalab.specs.variants import PatchError, apply_patch, parse_path

_RANGE = re.compile(r"^(log:)?\s*(-?[0-9.]+(?:e-?\d+)?)\s*\.\.\s*(-?[0-9.]+(?:e-?\d+)?)\s*$")
_WINDOW = re.compile(r"\[\s*[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d)\s*\]")


@dataclass(frozen=True)
class Param:
    """One dimension of the search."""

    path: str
    low: float | None = None
    high: float | None = None
    integer: bool = False
    log: bool = False
    choices: tuple[Any, ...] = ()
    labels: tuple[str, ...] = ()
    """Short names of the choices (the window of a query), for tables and plots."""

    @property
    def name(self) -> str:
        """The short name shown in tables: the path's last field (and its index)."""
        return self.path

    def label_of(self, value: Any) -> str:
        if self.choices and self.labels:
            return self.labels[self.choices.index(value)]
        return str(value)

    def numeric(self, value: Any) -> float:
        """The value as a number for plots and sensitivity (a choice's position)."""
        if self.choices:
            return float(self.choices.index(value))
        return float(value)


def parse_param(text: str, *, base: dict[str, Any]) -> Param:
    """``PATH=SPEC`` against the experiment's spec data ``base``; raises UsageError."""
    path, sep, spec = text.partition("=")
    path, spec = path.strip(), spec.strip()
    if not sep or not path or not spec:
        raise UsageError(
            f"--param {text!r} is not PATH=SPEC",
            hint="e.g. --param hpa.metrics[0].pods.target.averageValue=5..40",
        )
    current = _current(base, path, text)
    if spec.startswith("window:"):
        param = _windows(path, spec[len("window:") :], current, text)
    elif (found := _RANGE.match(spec)) is not None:
        param = _range(path, found, text)
    else:
        choices = tuple(yaml.safe_load(part.strip()) for part in spec.split(","))
        param = Param(path, choices=choices)
    for value in _extremes(param):
        check_value(param, value, base=base, flag=text)
    return param


def _current(base: dict[str, Any], path: str, flag: str) -> Any:
    node: Any = base
    try:
        for part in parse_path(path):
            node = node[part]
    except PatchError as error:
        raise UsageError(f"--param {flag!r}: {error}", hint="check the field path") from error
    except (KeyError, IndexError, TypeError):
        return None
    return node


def _range(path: str, found: re.Match[str], flag: str) -> Param:
    low_text, high_text = found.group(2), found.group(3)
    low, high = float(low_text), float(high_text)
    integer = all(re.fullmatch(r"-?\d+", t) for t in (low_text, high_text))
    if not low < high or (found.group(1) and low <= 0):
        raise UsageError(
            f"--param {flag!r}: the range must go from a lower to a higher value"
            + (" above 0 (log scale)" if found.group(1) else ""),
            hint="write LOW..HIGH, e.g. 5..40, or log:1..100",
        )
    return Param(path, low=low, high=high, integer=integer, log=bool(found.group(1)))


def _windows(path: str, spec: str, current: Any, flag: str) -> Param:
    if not isinstance(current, str) or len(_WINDOW.findall(current)) != 1:
        raise UsageError(
            f"--param {flag!r}: window: needs a field holding a PromQL query with one range "
            "selector like [1m]",
            hint="use it on an adapter rule's metricsQuery, e.g. "
            "adapter.rules[0].metricsQuery=window:30s,1m,2m",
        )
    labels = tuple(part.strip() for part in spec.split(",") if part.strip())
    if not labels or not all(re.fullmatch(r"\d+(ms|s|m|h)", w) for w in labels):
        raise UsageError(
            f"--param {flag!r}: windows must be durations like 30s, 1m, 2m",
            hint="write window:30s,1m,2m",
        )
    choices = tuple(_WINDOW.sub(f"[{w}]", current) for w in labels)
    return Param(path, choices=choices, labels=labels)


def _extremes(param: Param) -> list[Any]:
    if param.choices:
        return list(param.choices)
    assert param.low is not None and param.high is not None
    return [param.low, param.high]


def typed(param: Param, value: Any, *, base: dict[str, Any]) -> Any:
    """``value`` with the type the field has in the experiment (a string stays a string)."""
    if param.integer and not param.choices:
        value = round(value)
    current = _current(base, param.path, param.path)
    if isinstance(current, str) and not isinstance(value, str):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(round(value, 6) if isinstance(value, float) else value)
    return value


def apply(params: list[Param], values: dict[str, Any], *, base: dict[str, Any]) -> ExperimentSpec:
    """The experiment's spec with each parameter set; raises ValueError when invalid."""
    patch = {p.path: typed(p, values[p.path], base=base) for p in params}
    data = apply_patch(base, patch)
    try:
        spec = ExperimentSpec.model_validate(data, by_alias=True)
    except ValidationError as error:
        raise ValueError(str(error.errors()[0]["msg"])) from error
    problems = hpa_problems(spec.hpa)
    if problems:
        where, message, _ = problems[0]
        raise ValueError(f"hpa.{'.'.join(str(p) for p in where)}: {message}")
    return spec


def check_value(param: Param, value: Any, *, base: dict[str, Any], flag: str) -> None:
    """Raise UsageError when ``value`` makes the spec invalid on its own."""
    try:
        apply([param], {param.path: value}, base=base)
    except (ValueError, PatchError) as error:
        raise UsageError(
            f"--param {flag!r}: the value {value!r} makes the spec invalid: {error}",
            hint="narrow the range or list only valid values",
        ) from error


def distance_scale(param: Param) -> float:
    """The width of the parameter's range (log width on a log scale), for normalising."""
    if param.choices:
        return max(1.0, len(param.choices) - 1.0)
    assert param.low is not None and param.high is not None
    if param.log:
        return math.log(param.high) - math.log(param.low)
    return param.high - param.low
