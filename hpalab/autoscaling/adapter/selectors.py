"""Kubernetes label selectors turned into PromQL label matchers, as prometheus-adapter does.

A metric selector (``metric.selector`` of an HPA metric) reaches the adapter as a Kubernetes
``labels.Selector``: requirements sorted by key, each requirement's values sorted with duplicates
removed. Each requirement becomes one PromQL matcher; the adapter refuses what it cannot map
exactly (``gt``/``lt``, a value-less ``=``, an ``exists`` with values).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from hpalab.autoscaling.adapter.exceptions import AdapterError
from hpalab.autoscaling.adapter.gofmt import go_quote

OPERATORS = ("=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt")


@dataclass(frozen=True)
class Requirement:
    """One label-selector requirement: ``key``, operator ``op`` (see :data:`OPERATORS`)."""

    key: str
    op: str
    values: tuple[str, ...] = ()


def label_eq(label: str, value: str) -> str:
    """``label="value"`` with Go quoting."""
    return f"{label}={go_quote(value)}"


def label_neq(label: str, value: str) -> str:
    """``label!="value"``."""
    return f"{label}!={go_quote(value)}"


def label_matches(label: str, value: str) -> str:
    """``label=~"value"``."""
    return f"{label}=~{go_quote(value)}"


def label_not_matches(label: str, value: str) -> str:
    """``label!~"value"``."""
    return f"{label}!~{go_quote(value)}"


def normalize(requirements: Iterable[Requirement]) -> list[Requirement]:
    """Kubernetes selector order: by key (stable), values sorted and de-duplicated."""
    cleaned = [Requirement(r.key, r.op, tuple(sorted(set(r.values)))) for r in requirements]
    return sorted(cleaned, key=lambda r: r.key)


def from_data(items: Sequence[Mapping[str, Any]]) -> list[Requirement]:
    """Requirements from ``[{key, op, values}]`` data; raises ``AdapterError`` on bad ops."""
    out = []
    for item in items:
        op = str(item.get("op", ""))
        if op not in OPERATORS:
            raise AdapterError("unsupported_operator", f"unknown selector operator {op!r}")
        out.append(Requirement(str(item.get("key", "")), op, tuple(item.get("values") or ())))
    return out


def _matcher_for(op: str, values: tuple[str, ...]) -> tuple[Any, str]:
    count = len(values)
    if count == 0:
        if op == "exists":
            return label_neq, ""
        if op == "!":
            return label_eq, ""
        raise AdapterError("malformed_query", f"operator {op!r} needs at least one value")
    if op in ("exists", "!"):
        raise AdapterError(
            "values_not_supported", f"operator {op!r} does not take values, got {list(values)}"
        )
    joined = "|".join(values)
    if count == 1:
        table = {"=": label_eq, "==": label_eq, "!=": label_neq, "in": label_matches}
        return table.get(op, label_not_matches), joined
    # A label holds one value, so several values always become a regex match.
    return (label_matches if op in ("=", "==", "in") else label_not_matches), joined


def to_matchers(requirements: Sequence[Requirement]) -> tuple[list[str], dict[str, str]]:
    """PromQL matchers and the label -> '|'-joined values map (``.LabelValuesByName``).

    Requirements are used in the order given (normalise first). Raises ``AdapterError`` with
    ``label_not_specified``, ``unsupported_operator``, ``malformed_query`` or
    ``values_not_supported``, like the adapter's query builder.
    """
    exprs: list[str] = []
    values_by_name: dict[str, str] = {}
    for req in requirements:
        if req.key == "":
            raise AdapterError("label_not_specified", "a selector requirement has no label name")
        if req.op in ("gt", "lt") or req.op not in OPERATORS:
            raise AdapterError(
                "unsupported_operator", f"operator {req.op!r} has no PromQL equivalent"
            )
        matcher, target = _matcher_for(req.op, req.values)
        exprs.append(matcher(req.key, target))
        values_by_name[req.key] = "|".join(req.values)
    return exprs, values_by_name


_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|>|<|[A-Za-z0-9_./-]+)")


class _SelectorParser:
    """A small recursive-descent reader of Kubernetes selector strings."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[str] = list(_TOKEN.findall(text))
        self.pos = 0
        if "".join(self.tokens).replace(" ", "") != re.sub(r"\s+", "", text):
            self.fail("cannot parse label selector")

    def fail(self, message: str) -> NoReturn:
        raise AdapterError("malformed_query", f"{message} in {self.text!r}")

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ","

    def take(self) -> str:
        if self.pos >= len(self.tokens):
            self.fail("unexpected end")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def requirement(self) -> Requirement:
        word = self.take()
        if word == "!":
            return Requirement(self.take(), "!")
        nxt = self.peek()
        if nxt == ",":
            return Requirement(word, "exists")
        self.take()
        if nxt in ("=", "==", "!=", ">", "<"):
            op = {">": "gt", "<": "lt"}.get(nxt, nxt)
            # An empty value (``a=``) is a valid Kubernetes selector: label a is "".
            value = "" if self.peek() == "," else self.take()
            if op in ("gt", "lt") and not re.fullmatch(r"-?\d+", value):
                self.fail(f"{word}{nxt} needs an integer value")
            return Requirement(word, op, (value,))
        if nxt in ("in", "notin"):
            if self.take() != "(":
                self.fail("expected '('")
            values = []
            while (value := self.take()) != ")":
                if value != ",":
                    values.append(value)
            if not values:
                self.fail(f"empty value set for {nxt}")
            return Requirement(word, nxt, tuple(values))
        self.fail(f"unexpected {nxt!r}")

    def parse(self) -> list[Requirement]:
        out = []
        while self.pos < len(self.tokens):
            out.append(self.requirement())
            if self.pos < len(self.tokens) and self.take() != ",":
                self.fail("expected ','")
        return normalize(out)


def parse_selector(text: str) -> list[Requirement]:
    """Parse a Kubernetes selector string (``app=web,tier in (a,b),!canary``), normalised.

    Raises ``AdapterError('malformed_query')`` on syntax errors, as the API server would reject
    the request before it reaches the adapter. ``a=`` selects an empty value.
    """
    return _SelectorParser(text).parse()


def selector_string(requirements: Sequence[Requirement]) -> str:
    """The Kubernetes string form of normalised requirements (empty for 'everything')."""
    parts = []
    for req in requirements:
        if req.op == "exists":
            parts.append(req.key)
        elif req.op == "!":
            parts.append(f"!{req.key}")
        elif req.op in ("in", "notin"):
            parts.append(f"{req.key} {req.op} ({','.join(req.values)})")
        else:
            sym = {"gt": ">", "lt": "<"}.get(req.op, req.op)
            parts.append(f"{req.key}{sym}{''.join(req.values)}")
    return ",".join(parts)


def requirements_of(selector: Mapping[str, Any] | None) -> list[Requirement]:
    """An HPA metric's LabelSelector as adapter requirements (``matchLabels`` first)."""
    if not selector:
        return []
    out = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    op_of = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}
    for item in selector.get("matchExpressions") or []:
        op = op_of.get(str(item.get("operator")), str(item.get("operator")))
        out.append(Requirement(str(item["key"]), op, tuple(item.get("values") or ())))
    return out
