"""Prometheus in virtual time: scraped samples, and the PromQL the adapter's rules render.

:class:`SampleStore` holds what Prometheus would have stored: per series, the scrape
timestamps and values. :func:`extrapolated_rate` and :func:`instant_rate` compute ``rate()`` /
``increase()`` and ``irate()`` exactly as Prometheus 2.x does over those samples (range
``[t − window, t]`` closed at both ends, counter resets, extrapolation to the window edges
and the zero-point limit). :func:`evaluate` runs the subset of PromQL that adapter rules use:
an optional aggregation (``sum``, ``avg``, ``min``, ``max``, ``count``) with ``by`` or
``without``, over ``rate``/``irate``/``increase`` of a selector with a range, or a plain
selector (the latest sample within the 5 min lookback). Anything else raises
:class:`~hpalab.errors.NotSimulable`.

Pure code: no clock, no I/O.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from hpalab.errors import NotSimulable
from hpalab.specs import parse_duration

LOOKBACK_S = 300.0
"""Prometheus's default lookback delta: an instant selector sees samples this old at most."""

Labels = tuple[tuple[str, str], ...]
"""A series' labels, sorted by name (hashable)."""


@dataclass
class Series:
    """One stored series: sample times (s) and values, in time order."""

    labels: Labels
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def window(self, t0: float, t1: float) -> tuple[list[float], list[float]]:
        """The samples with ``t0 ≤ time ≤ t1``."""
        lo = bisect.bisect_left(self.times, t0)
        hi = bisect.bisect_right(self.times, t1)
        return self.times[lo:hi], self.values[lo:hi]


class SampleStore:
    """Every scraped sample, by series."""

    def __init__(self) -> None:
        self.series: dict[Labels, Series] = {}

    def append(self, labels: Labels, t_s: float, value: float) -> None:
        """Store one sample; samples of a series must come in time order."""
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = Series(labels)
        series.times.append(t_s)
        series.values.append(value)

    def names(self, t0: float, t1: float) -> list[Labels]:
        """Labels of the series with a sample in ``[t0, t1]`` (``/api/v1/series``)."""
        return [s.labels for s in self.series.values() if s.window(t0, t1)[0]]


def extrapolated_rate(
    times: Sequence[float],
    values: Sequence[float],
    *,
    t_s: float,
    window_s: float,
    is_rate: bool = True,
) -> float | None:
    """``rate()`` (or ``increase()`` with ``is_rate=False``) of a counter at ``t_s`` from its
    samples inside ``[t_s − window_s, t_s]``, as Prometheus 2.x ``extrapolatedRate``.

    ``None`` with fewer than two samples (Prometheus returns no element).
    """
    if len(times) < 2:
        return None
    result = values[-1] - values[0]
    previous = values[0]
    for value in values[1:]:
        if value < previous:  # a counter reset: the counter restarted from 0
            result += previous
        previous = value
    to_start = times[0] - (t_s - window_s)
    to_end = t_s - times[-1]
    sampled = times[-1] - times[0]
    average_gap = sampled / (len(times) - 1)
    if result > 0 and values[0] >= 0:
        # counters are never negative: do not extrapolate to before the zero point
        to_zero = sampled * (values[0] / result)
        to_start = min(to_start, to_zero)
    threshold = average_gap * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average_gap / 2
    interval += to_end if to_end < threshold else average_gap / 2
    result *= interval / sampled
    return result / window_s if is_rate else result


def instant_rate(times: Sequence[float], values: Sequence[float]) -> float | None:
    """``irate()``: the per-second rate between the last two samples (a reset counts from 0)."""
    if len(times) < 2:
        return None
    last, previous = values[-1], values[-2]
    increase = last if last < previous else last - previous
    gap = times[-1] - times[-2]
    return None if gap <= 0 else increase / gap


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a selector."""

    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        assert self.pattern is not None
        found = self.pattern.fullmatch(have) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Query:
    """A parsed query: ``aggregation (function (selector [range]))``."""

    metric: str
    matchers: tuple[Matcher, ...]
    function: str | None
    range_s: float | None
    aggregation: str | None
    grouping: tuple[str, ...]
    without: bool


_SPACE = r"\s*"
_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_AGGREGATIONS = ("sum", "avg", "min", "max", "count")
_FUNCTIONS = ("rate", "irate", "increase")
_MATCHER = re.compile(
    rf'{_SPACE}({_NAME}){_SPACE}(=~|!~|!=|=){_SPACE}"((?:[^"\\]|\\.)*)"{_SPACE},?'
)
_GROUPING = re.compile(rf"{_SPACE}(by|without){_SPACE}\(([^)]*)\){_SPACE}")


def parse(query: str) -> Query:
    """Parse the PromQL subset named in the module docstring; raises NotSimulable."""
    return _parse(query.strip())


@lru_cache(maxsize=256)
def _parse(text: str) -> Query:
    aggregation, grouping, without, inner = _split_aggregation(text)
    function, range_s = None, None
    call = re.fullmatch(rf"({_NAME}){_SPACE}\((.*)\)", inner, flags=re.DOTALL)
    if call and call.group(1) in _FUNCTIONS:
        function, inner = call.group(1), call.group(2).strip()
        ranged = re.fullmatch(r"(.*)\[\s*([0-9a-z.]+)\s*\]", inner, flags=re.DOTALL)
        if ranged is None:
            raise _unsupported(text, f"{function}() needs a range selector like x[1m]")
        inner, range_s = ranged.group(1).strip(), parse_duration(ranged.group(2))
    elif call:
        raise _unsupported(text, f"the function {call.group(1)}()")
    metric, matchers = _selector(inner, text)
    return Query(metric, matchers, function, range_s, aggregation, grouping, without)


def _split_aggregation(text: str) -> tuple[str | None, tuple[str, ...], bool, str]:
    match = re.match(rf"({_NAME}){_SPACE}", text)
    if match is None or match.group(1) not in _AGGREGATIONS:
        return None, (), False, text
    rest = text[match.end() :]
    grouping: tuple[str, ...] = ()
    without = False
    before = _GROUPING.match(rest)
    if before:
        without = before.group(1) == "without"
        grouping = _label_list(before.group(2))
        rest = rest[before.end() :]
    body, after = _balanced(rest, text)
    if after.strip():
        clause = _GROUPING.fullmatch(after)
        if clause is None or before:
            raise _unsupported(text, f"text after the aggregation: {after.strip()!r}")
        without = clause.group(1) == "without"
        grouping = _label_list(clause.group(2))
    return match.group(1), grouping, without, body.strip()


def _balanced(rest: str, text: str) -> tuple[str, str]:
    """``(inside, after)`` of the parenthesised expression ``rest`` starts with."""
    if not rest.startswith("("):
        raise _unsupported(text, "an aggregation without parentheses")
    depth = 0
    for index, char in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return rest[1:index], rest[index + 1 :]
    raise _unsupported(text, "unbalanced parentheses")


def _label_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _selector(text: str, query: str) -> tuple[str, tuple[Matcher, ...]]:
    match = re.fullmatch(rf"({_NAME})?{_SPACE}(?:\{{(.*)\}})?", text, flags=re.DOTALL)
    if match is None or not (match.group(1) or match.group(2)):
        raise _unsupported(query, f"the expression {text!r}")
    body = match.group(2) or ""
    matchers, position = [], 0
    while position < len(body.strip()):
        found = _MATCHER.match(body, position)
        if found is None:
            raise _unsupported(query, f"the label matchers {{{body}}}")
        name, op, value = found.group(1), found.group(2), _unquote(found.group(3))
        pattern = re.compile(value) if op in ("=~", "!~") else None
        matchers.append(Matcher(name, op, value, pattern))
        position = found.end()
    metric = match.group(1) or ""
    if not metric:
        metric = next((m.value for m in matchers if m.name == "__name__" and m.op == "="), "")
    return metric, tuple(m for m in matchers if m.name != "__name__")


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _unsupported(query: str, what: str) -> NotSimulable:
    return NotSimulable(
        f"the simulator cannot evaluate {what} in the query {query!r}",
        hint="the simulator models sum/avg/min/max/count of rate(), irate() and increase() "
        "over one selector, or a plain selector; run this experiment on a real platform",
    )


_AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "sum": math.fsum,
    "avg": lambda xs: math.fsum(xs) / len(xs),
    "min": min,
    "max": max,
    "count": lambda xs: float(len(xs)),
}


def evaluate(store: SampleStore, query: str, *, t_s: float) -> list[tuple[dict[str, str], float]]:
    """The instant vector ``query`` returns at ``t_s``: ``(labels, value)`` per element."""
    parsed = parse(query)
    elements: list[tuple[dict[str, str], float]] = []
    for series in store.series.values():
        labels = dict(series.labels)
        if labels.get("__name__") != parsed.metric:
            continue
        if not all(m.matches(labels) for m in parsed.matchers):
            continue
        value = _series_value(series, parsed, t_s)
        if value is not None:
            del labels["__name__"]
            elements.append((labels, value))
    if parsed.aggregation is None:
        return elements
    return _aggregate(elements, parsed)


def _series_value(series: Series, parsed: Query, t_s: float) -> float | None:
    if parsed.function is None:
        times, values = series.window(t_s - LOOKBACK_S, t_s)
        return values[-1] if times else None
    assert parsed.range_s is not None
    times, values = series.window(t_s - parsed.range_s, t_s)
    if parsed.function == "irate":
        return instant_rate(times, values)
    return extrapolated_rate(
        times, values, t_s=t_s, window_s=parsed.range_s, is_rate=parsed.function == "rate"
    )


def _aggregate(
    elements: list[tuple[dict[str, str], float]], parsed: Query
) -> list[tuple[dict[str, str], float]]:
    groups: dict[tuple[tuple[str, str], ...], list[float]] = {}
    for labels, value in elements:
        if parsed.without:
            kept = {k: v for k, v in labels.items() if k not in parsed.grouping}
        else:
            kept = {k: labels[k] for k in parsed.grouping if k in labels}
        groups.setdefault(tuple(sorted(kept.items())), []).append(value)
    assert parsed.aggregation is not None
    combine = _AGGREGATE[parsed.aggregation]
    return [(dict(key), combine(values)) for key, values in groups.items()]
