"""Charts as inline SVG strings, built from plain data without I/O.

Timelines put several panels on one time axis. Each panel's plot area is a nested ``<svg>``
whose viewBox is in (seconds, pixels): the report script zooms every panel of a timeline at
once by changing the x range of those viewBoxes, and reads hover values back from the polyline
points. Every text that can come from a user is escaped here, since this markup is inserted
into the page as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

import numpy as np
import numpy.typing as npt

WIDTH = 1000
LEFT = 64
RIGHT = 16
PANEL_H = 110
GAP = 34
PLOT_W = WIDTH - LEFT - RIGHT


@dataclass(frozen=True)
class Series:
    """One line of a panel: ``values`` on the time grid ``t_s``; NaN breaks nothing, it is
    skipped. ``step`` draws a staircase (for replica counts)."""

    name: str
    css: str
    t_s: npt.ArrayLike
    values: npt.ArrayLike
    step: bool = False


@dataclass(frozen=True)
class Marker:
    """A vertical tick at ``t_s``: ``where`` is 'top', 'bottom' or 'full' height."""

    t_s: float
    css: str
    label: str
    where: str = "full"


@dataclass(frozen=True)
class Span:
    """A shaded stretch of time from ``t0_s`` to ``t1_s`` (an injected fault)."""

    t0_s: float
    t1_s: float
    css: str
    label: str


@dataclass(frozen=True)
class Panel:
    """One panel of a timeline."""

    title: str
    unit: str
    series: list[Series]
    markers: list[Marker] = field(default_factory=list)
    guide: float | None = None
    """A horizontal reference line (the SLO), drawn dashed."""
    y_max: float | None = None
    spans: list[Span] = field(default_factory=list)
    """Shaded bands behind the series (faults)."""


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (1 for non-positive values)."""
    if not value > 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value - 1e-12:
            return float(factor * power)
    return float(10 * power)


def time_ticks(t0: float, t1: float, *, count: int = 8) -> list[float]:
    """Round tick positions (multiples of 5, 10, 15, 30, 60... s) between t0 and t1."""
    span = max(t1 - t0, 1.0)
    steps = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600)
    step = next((s for s in steps if span / s <= count), 3600 * math.ceil(span / 3600 / count))
    first = math.ceil(t0 / step) * step
    return [float(t) for t in np.arange(first, t1 + 1e-9, step)]


def clock(t_s: float) -> str:
    """``m:ss`` for a time in seconds (negative times keep their sign)."""
    sign = "-" if t_s < 0 else ""
    whole = round(abs(t_s))
    return f"{sign}{whole // 60}:{whole % 60:02d}"


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def polyline_points(
    t_s: npt.ArrayLike, values: npt.ArrayLike, *, y_max: float, step: bool = False
) -> list[str]:
    """Point strings ``t,y`` (y in panel pixels, top = 0) of each unbroken run of samples.

    Values above ``y_max`` are drawn at the top. Flat stretches keep only their ends, so step
    signals cost a few points however long the trial.
    """
    t = np.asarray(t_s, dtype="float64")
    y = np.round(
        PANEL_H - np.clip(np.asarray(values, dtype="float64"), 0.0, y_max) / y_max * PANEL_H, 1
    )
    gaps = np.isnan(y)
    runs: list[str] = []
    # Split at missing samples, then thin and format each run.
    edges = np.flatnonzero(np.diff(np.concatenate([[1], gaps.astype("int8"), [1]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        runs.append(_run_points(t[start:stop], y[start:stop], step=step))
    return runs


def _run_points(t: np.ndarray, y: np.ndarray, *, step: bool) -> str:
    if len(t) == 1:
        return f"{t[0]:g},{y[0]:g} {t[0]:g},{y[0]:g}"
    same_prev = np.concatenate([[False], y[1:] == y[:-1]])
    same_next = np.concatenate([y[:-1] == y[1:], [False]])
    keep = ~(same_prev & same_next)
    tk, yk = t[keep].tolist(), y[keep].tolist()
    if not step:
        return " ".join(f"{a:g},{b:g}" for a, b in zip(tk, yk, strict=True))
    out = [f"{tk[0]:g},{yk[0]:g}"]
    for i in range(1, len(tk)):
        if yk[i] != yk[i - 1]:
            out.append(f"{tk[i]:g},{yk[i - 1]:g}")
        out.append(f"{tk[i]:g},{yk[i]:g}")
    return " ".join(out)


def timeline(panels: list[Panel], *, t0: float, t1: float, chart_id: str) -> str:
    """An SVG with ``panels`` stacked on one shared time axis from t0 to t1 (seconds)."""
    height = len(panels) * (PANEL_H + GAP) + 24
    parts = [
        f'<svg class="chart timeline" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" data-t0="{_fmt(t0)}" data-t1="{_fmt(t1)}" role="img" '
        f'preserveAspectRatio="xMinYMin meet">'
    ]
    for index, panel in enumerate(panels):
        top = 18 + index * (PANEL_H + GAP)
        parts.append(_panel(panel, top=top, t0=t0, t1=t1))
    parts.append(_x_axis(t0, t1, top=height - 22))
    parts.append(
        f'<rect class="brush" x="{LEFT}" y="0" width="0" height="{height - 24}" '
        'visibility="hidden"/></svg>'
    )
    return "".join(parts)


def _panel(panel: Panel, *, top: int, t0: float, t1: float) -> str:
    highest = max(
        [float(np.nanmax(s.values)) for s in panel.series if np.isfinite(s.values).any()]
        + [panel.guide or 0.0]
    )
    y_max = panel.y_max or nice_ceiling(highest * 1.05)
    out = [
        f'<g class="panel" transform="translate(0,{top})" data-ymax="{_fmt(y_max)}" '
        f'data-h="{PANEL_H}" data-unit="{escape(panel.unit)}">',
        f'<text class="title" x="{LEFT}" y="-5">{escape(panel.title)}</text>',
        _legend(panel),
    ]
    for frac in (0.0, 0.5, 1.0):
        y = PANEL_H - frac * PANEL_H
        out.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>'
        )
        out.append(
            f'<text class="ytick" x="{LEFT - 6}" y="{_fmt(y + 4)}">{_fmt(frac * y_max)}</text>'
        )
    out.append(
        f'<svg class="plot" x="{LEFT}" y="0" width="{PLOT_W}" height="{PANEL_H}" '
        f'viewBox="{_fmt(t0)} 0 {_fmt(max(t1 - t0, 1))} {PANEL_H}" preserveAspectRatio="none">'
    )
    if panel.guide is not None:
        gy = PANEL_H - min(panel.guide, y_max) / y_max * PANEL_H
        out.append(
            f'<line class="guide" x1="{_fmt(t0)}" x2="{_fmt(t1)}" y1="{_fmt(gy)}" y2="{_fmt(gy)}" '
            'vector-effect="non-scaling-stroke"/>'
        )
    out += [_span(b) for b in panel.spans]
    out += [_marker(m) for m in panel.markers]
    for s in panel.series:
        for points in polyline_points(s.t_s, s.values, y_max=y_max, step=s.step):
            out.append(
                f'<polyline class="s {escape(s.css)}" data-name="{escape(s.name)}" '
                f'points="{points}" vector-effect="non-scaling-stroke"/>'
            )
    out.append(
        '<line class="cursor" x1="0" x2="0" y1="0" y2="110" visibility="hidden" '
        'vector-effect="non-scaling-stroke"/></svg></g>'
    )
    return "".join(out)


def _legend(panel: Panel) -> str:
    items, x, seen = [], WIDTH - RIGHT, set()
    for s in reversed(panel.series):
        if s.name in seen:
            continue
        seen.add(s.name)
        label = escape(s.name)
        x -= 14 + 7 * len(s.name)
        items.append(
            f'<g class="key"><line class="s {escape(s.css)}" x1="{x}" x2="{x + 10}" y1="-9" '
            f'y2="-9"/><text x="{x + 13}" y="-5">{label}</text></g>'
        )
    return "".join(items)


def _span(span: Span) -> str:
    width = max(span.t1_s - span.t0_s, 0.0)
    return (
        f'<rect class="band {escape(span.css)}" x="{_fmt(span.t0_s)}" y="0" '
        f'width="{_fmt(width)}" height="{PANEL_H}"><title>{escape(span.label)}</title></rect>'
    )


def _marker(marker: Marker) -> str:
    y1, y2 = {"top": (0, 14), "bottom": (PANEL_H - 10, PANEL_H)}.get(marker.where, (0, PANEL_H))
    t = _fmt(marker.t_s)
    return (
        f'<line class="m {escape(marker.css)}" x1="{t}" x2="{t}" y1="{y1}" y2="{y2}" '
        f'vector-effect="non-scaling-stroke"><title>{escape(marker.label)}</title></line>'
    )


def _x_axis(t0: float, t1: float, *, top: int) -> str:
    out = [f'<g class="xaxis" transform="translate(0,{top})">']
    for t in time_ticks(t0, t1):
        x = LEFT + (t - t0) / max(t1 - t0, 1) * PLOT_W
        out.append(f'<text x="{_fmt(x)}" y="12">{clock(t)}</text>')
    out.append("</g>")
    return "".join(out)


@dataclass(frozen=True)
class Bar:
    """One stacked bar: a label and its segments ``(part name, css class, seconds)``."""

    label: str
    segments: list[tuple[str, str, float]]
    note: str = ""
    band: tuple[float, float, float] | None = None
    """A predicted (earliest, typical, worst) range drawn as a whisker over the bar."""


def _whisker(bar: Bar, *, label_w: float, y: int, scale: float, unit: str) -> str:
    low, typical, high = bar.band or (0.0, 0.0, 0.0)
    if not (math.isfinite(low) and math.isfinite(high)):
        return ""
    x0, x1, xm, mid = (
        label_w + low * scale,
        label_w + high * scale,
        label_w + typical * scale,
        y - 2,
    )
    text = (
        f"predicted detection: earliest {low:.1f}, typical {typical:.1f}, worst {high:.1f} {unit}"
    )
    return (
        f'<g class="whisker"><title>{escape(text)}</title>'
        f'<line x1="{_fmt(x0)}" x2="{_fmt(x1)}" y1="{mid}" y2="{mid}"/>'
        f'<line x1="{_fmt(x0)}" x2="{_fmt(x0)}" y1="{mid - 4}" y2="{mid + 4}"/>'
        f'<line x1="{_fmt(x1)}" x2="{_fmt(x1)}" y1="{mid - 4}" y2="{mid + 4}"/>'
        f'<circle cx="{_fmt(xm)}" cy="{mid}" r="3"/></g>'
    )


def stacked_bars(bars: list[Bar], *, unit: str = "s") -> str:
    """Horizontal stacked bars on a common scale, one row per bar, with totals."""
    label_w, row_h = 170, 26
    whiskers = [b.band[2] for b in bars if b.band and math.isfinite(b.band[2])]
    total = max(
        [sum(v for _, _, v in b.segments if math.isfinite(v)) for b in bars] + whiskers + [1.0]
    )
    tick = nice_ceiling(total / 5)
    scale_max = math.ceil(total / tick - 1e-9) * tick
    plot_w = WIDTH - label_w - 90
    height = len(bars) * row_h + 30
    out = [f'<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" width="100%" role="img">']
    for i, bar in enumerate(bars):
        y = 6 + i * row_h
        out.append(
            f'<text class="blabel" x="{label_w - 8}" y="{y + 15}">{escape(bar.label)}</text>'
        )
        x = float(label_w)
        for name, css, value in bar.segments:
            if not (math.isfinite(value) and value > 0):
                continue
            w = value / scale_max * plot_w
            out.append(
                f'<rect class="seg {escape(css)}" x="{_fmt(x)}" y="{y}" width="{_fmt(w)}" '
                f'height="{row_h - 8}"><title>{escape(bar.label)}: {escape(name)} '
                f"{value:.1f} {unit}</title></rect>"
            )
            x += w
        if bar.band is not None:
            out.append(_whisker(bar, label_w=label_w, y=y, scale=plot_w / scale_max, unit=unit))
        sum_v = sum(v for _, _, v in bar.segments if math.isfinite(v))
        x = max(x, label_w + min(bar.band[2], scale_max) * plot_w / scale_max) if bar.band else x
        text = f"{sum_v:.1f} {unit}" + (f" {bar.note}" if bar.note else "")
        out.append(f'<text class="btotal" x="{_fmt(x + 6)}" y="{y + 15}">{escape(text)}</text>')
    axis_y = height - 20
    grid = []
    for value in np.arange(0, scale_max + tick / 2, tick):
        frac = value / scale_max
        xs, label = _fmt(label_w + frac * plot_w), f"{_fmt(value)} {unit}"
        grid.append(
            f'<line class="grid" x1="{xs}" x2="{xs}" y1="0" y2="{axis_y}"/>'
            f'<text class="xt" x="{xs}" y="{axis_y + 14}">{label}</text>'
        )
    # The grid goes under the bars.
    out[1:1] = grid
    out.append("</svg>")
    return "".join(out)
