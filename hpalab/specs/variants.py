"""Variants and the matrix: from one experiment to the list of trials.

A variant patches the experiment's ``spec``. Its ``patch`` mixes two forms:

- keys without dots or brackets are JSON merge patches (RFC 7386) of that spec section:
  mappings merge, ``null`` deletes, anything else (lists included) replaces;
- keys such as ``hpa.metrics[0].pods.target.averageValue`` are field paths whose value is set
  as is; list items are addressed by index and must exist.

The matrix is a cartesian product of axes; each combination is a variant named
``axis=label,axis=label``. With both, every variant is combined with every matrix cell.
"""

from __future__ import annotations

import copy
import itertools
import random
import re
from dataclasses import dataclass
from typing import Any

_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class PatchError(ValueError):
    """A patch or matrix path does not fit the spec."""


def parse_path(path: str) -> list[str | int]:
    """``hpa.metrics[0].pods`` → ``["hpa", "metrics", 0, "pods"]``."""
    parts: list[str | int] = []
    position = 0
    text = path.strip()
    while position < len(text):
        if text[position] == "." and parts:
            position += 1
        match = _PATH_PART.match(text, position)
        if not match:
            raise PatchError(f"{path!r} is not a field path (write e.g. hpa.metrics[0].type)")
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        position = match.end()
    if not parts or not isinstance(parts[0], str):
        raise PatchError(f"{path!r} is not a field path (write e.g. hpa.maxReplicas)")
    return parts


def is_path(key: str) -> bool:
    return "." in key or "[" in key


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch of ``target`` by ``patch`` (returns a new value)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a field path in ``data`` (in place). Mappings on the way are created;
    list items must exist."""
    parts = parse_path(path)
    node: Any = data
    for position, part in enumerate(parts[:-1]):
        following = parts[position + 1]
        node = _step(node, part, path, create=not isinstance(following, int))
    last = parts[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise PatchError(f"{path}: there is no item [{last}] to set")
        node[last] = copy.deepcopy(value)
    else:
        if not isinstance(node, dict):
            raise PatchError(f"{path}: {last!r} is not inside a mapping")
        node[last] = copy.deepcopy(value)


def _step(node: Any, part: str | int, path: str, *, create: bool) -> Any:
    if isinstance(part, int):
        if not isinstance(node, list) or part >= len(node):
            size = len(node) if isinstance(node, list) else 0
            raise PatchError(f"{path}: matches nothing (the list has {size} items)")
        return node[part]
    if not isinstance(node, dict):
        raise PatchError(f"{path}: matches nothing ({part!r} is not inside a mapping)")
    if part not in node:
        if not create:
            raise PatchError(f"{path}: matches nothing ({part!r} is not set)")
        node[part] = {}
    return node[part]


def apply_patch(spec: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The spec (camelCase data) with a variant patch applied; the input is not changed."""
    result = copy.deepcopy(spec)
    for key, value in patch.items():
        if is_path(key):
            set_path(result, key, value)
        else:
            merged = merge_patch(result.get(key), value)
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merged
    return result


@dataclass(frozen=True)
class VariantPlan:
    """One variant to run: its name, where it came from, and its patch (both forms merged)."""

    name: str
    patch: dict[str, Any]
    origin: str  # "variants[i]", "matrix", "variants[i]+matrix" or "default"


def matrix_cells(axes: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """``(generated name, path patch)`` for every combination of the axes' values."""
    options = []
    for axis in axes:
        path = str(axis["path"])
        name = axis.get("name") or str(parse_path(path)[-1])
        choices = []
        for value in axis["values"]:
            if isinstance(value, dict) and set(value) == {"label", "value"}:
                choices.append((f"{name}={value['label']}", path, value["value"]))
            else:
                choices.append((f"{name}={_label(value)}", path, value))
        options.append(choices)
    cells = []
    for combination in itertools.product(*options):
        cells.append((",".join(c[0] for c in combination), {c[1]: c[2] for c in combination}))
    return cells


def _label(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


def plan_variants(
    variants: list[dict[str, Any]], matrix: list[dict[str, Any]]
) -> list[VariantPlan]:
    """The variants of an experiment, in the order written (matrix cells in product order)."""
    cells = matrix_cells(matrix) if matrix else []
    if not variants and not cells:
        return [VariantPlan("default", {}, "default")]
    if not cells:
        return [
            VariantPlan(v["name"], dict(v.get("patch") or {}), f"variants[{i}]")
            for i, v in enumerate(variants)
        ]
    if not variants:
        return [VariantPlan(name, patch, "matrix") for name, patch in cells]
    plans = []
    for index, variant in enumerate(variants):
        for name, patch in cells:
            merged = {**dict(variant.get("patch") or {}), **patch}
            plans.append(VariantPlan(f"{variant['name']}/{name}", merged, f"variants[{index}]"))
    return plans


@dataclass(frozen=True)
class TrialPlan:
    """One trial: a variant and a repetition, at a position in the run order."""

    trial_id: str
    variant: str
    repetition: int
    order: int


def plan_trials(variant_names: list[str], *, repetitions: int, seed: int) -> list[TrialPlan]:
    """Trials in a seeded, randomised, interleaved order.

    Each round runs every variant once, in an order shuffled per round, so drift of the
    machine over time spreads evenly across variants instead of biasing the later ones.
    """
    rng = random.Random(seed)  # noqa: S311 - an experiment's order, not a secret
    trials: list[TrialPlan] = []
    for repetition in range(1, repetitions + 1):
        order = list(variant_names)
        rng.shuffle(order)
        for name in order:
            trials.append(TrialPlan(f"{name}#{repetition}", name, repetition, len(trials) + 1))
    return trials


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"hpa": {"metrics": [{"type": "Pods"}]}}`` → ``{"hpa.metrics[0].type": "Pods"}``."""
    out: dict[str, Any] = {}
    if isinstance(data, dict) and data:
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(data, list) and data:
        for index, value in enumerate(data):
            out.update(flatten(value, f"{prefix}[{index}]"))
    else:
        out[prefix] = data
    return out


def spec_diff(baseline: Any, other: Any) -> list[tuple[str, Any, Any]]:
    """``(path, baseline value, other value)`` for every leaf that differs (absent = None)."""
    left, right = flatten(baseline), flatten(other)
    return [
        (path, left.get(path), right.get(path))
        for path in sorted(set(left) | set(right))
        if left.get(path) != right.get(path)
    ]
