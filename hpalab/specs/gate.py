"""Gate rules: how much worse a metric may get before a change is refused.

A rules document is a YAML mapping of metric name to rule, in a file or inline::

    time_to_capacity_s: {worse_by: 10%}   # at most 10 % worse than the old run's median
    slo_violation_s: {worse_by: 0}        # not worse at all
    replica_seconds: {worse_by: 20%}

``worse_by`` is a percentage of the old median (``10%``) or an amount in the metric's own
unit (``0``, ``2.5``). Which metric names exist is the analysis layer's business: the loader
takes them as a parameter, so an unknown name is reported at its line like any other problem.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError

from hpalab.errors import Problem, SpecError
from hpalab.specs.base import SpecModel
from hpalab.specs.sources import Source, parse_yaml, read_text

INLINE_NAME = "<--gate>"
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


def parse_allowance(value: Any) -> tuple[float, bool]:
    """``"10%"`` → ``(0.10, True)`` (relative); ``2`` or ``"2"`` → ``(2.0, False)``.

    Raises ``ValueError`` for anything else, including negative amounts.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount (write e.g. 10% or 0)")
    if isinstance(value, int | float):
        amount = float(value)
        relative = False
    else:
        text = str(value)
        match = _PERCENT.match(text)
        try:
            amount, relative = (
                (float(match.group(1)) / 100, True) if match else (float(text), False)
            )
        except ValueError:
            raise ValueError(f"{text!r} is not an amount (write e.g. 10% or 0)") from None
    if not (math.isfinite(amount) and amount >= 0):
        raise ValueError(f"must be a finite amount ≥ 0, got {value!r}")
    return amount, relative


def _check_allowance(value: Any) -> str:
    parse_allowance(value)
    return str(value)


class GateRule(SpecModel):
    """How much worse one metric may get against the old run."""

    worse_by: Annotated[str, BeforeValidator(_check_allowance)] = Field(
        description="allowed worsening: a percentage of the old median (10%) or an amount in "
        "the metric's unit (0 = not worse at all)"
    )


@dataclass(frozen=True)
class LoadedRule:
    """One rule, resolved to a metric of summary.csv."""

    metric: str
    """The summary.csv column the rule gates."""
    written: str
    """The name as the user wrote it (an alias such as ``replica_seconds`` stays visible)."""
    amount: float
    relative: bool

    @property
    def text(self) -> str:
        """The allowance as written back: ``10%`` or ``0``."""
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


def load_gate_rules(
    rules: str, *, known: Collection[str], aliases: Mapping[str, str] | None = None
) -> list[LoadedRule]:
    """Rules from a file path or inline YAML text; one SpecError listing every problem.

    ``known`` are the metric names that may be gated; ``aliases`` maps other accepted names to
    them.
    """
    source = _source(rules)
    if not isinstance(source.data, dict) or not source.data:
        raise SpecError(
            [
                source.problem(
                    (),
                    "gate rules must be a mapping of metric name to rule",
                    "write e.g. time_to_capacity_s: {worse_by: 10%}",
                )
            ]
        )
    aliases = aliases or {}
    out: list[LoadedRule] = []
    problems: list[Problem] = []
    for name, body in source.data.items():
        metric = aliases.get(str(name), str(name))
        if metric not in known:
            problems.append(_unknown(source, str(name), [*known, *aliases]))
            continue
        try:
            rule = GateRule.model_validate(body, by_alias=True)
        except ValidationError as error:
            problems += [_problem(source, str(name), item) for item in error.errors()]
            continue
        amount, relative = parse_allowance(rule.worse_by)
        out.append(LoadedRule(metric, str(name), amount, relative))
    if problems:
        raise SpecError(problems)
    return out


def _source(rules: str) -> Source:
    path = Path(rules)
    looks_inline = ":" in rules or "\n" in rules
    if not looks_inline or path.is_file():
        return parse_yaml(read_text(path), file=rules)
    return parse_yaml(rules, file=INLINE_NAME)


def _unknown(source: Source, name: str, names: list[str]) -> Problem:
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"gate one of: {', '.join(sorted(names))}"
    return source.problem((name,), f"unknown metric {name!r}", hint)


def _problem(source: Source, name: str, item: Any) -> Problem:
    loc = tuple(str(p) for p in item["loc"])
    if item["type"] == "extra_forbidden":
        message, hint = "unknown field", "a rule has one field: worse_by (e.g. {worse_by: 10%})"
    elif item["type"] == "missing":
        message, hint = "is required", "write e.g. {worse_by: 10%}"
    else:
        message = str(item["msg"]).removeprefix("Value error, ")
        hint = "write a percentage such as 10% or an amount such as 0"
    return source.problem((name, *loc), message, hint)
