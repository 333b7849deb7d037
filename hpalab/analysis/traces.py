"""One trial as analysis sees it: its signals side by side on one time grid, and its events.

The run directory stores signals tidy (``trial_id, t_s, signal, value``); the metrics need them
wide (one column per signal), restricted to the measured window: from the start of the load
phase (``t_s = 0``) to the end of the cool-down, which is measured too (scale-down behaviour).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from hpalab.analysis.scrapes import Counters, counter_query, counters_from_rows

EVENT_COLUMNS = ("t_s", "kind", "object", "detail", "fields")


@dataclass(frozen=True)
class Trace:
    """The measured window of one trial.

    ``signals`` is indexed by ``t_s`` (seconds since the load phase began, ascending), one
    column per signal, NaN where a sample is missing. ``events`` has the columns of
    ``EVENT_COLUMNS``; ``fields`` holds the event detail parsed as a dict (empty when the
    detail is free text). ``dt_s`` is the sampling step in seconds.
    """

    trial_id: str
    signals: pd.DataFrame
    events: pd.DataFrame
    dt_s: float = 1.0
    load_end_s: float = math.inf
    """Start of the cool-down (no load from then on), ``inf`` when the run recorded none."""
    counters: Counters | None = None
    """Scrape samples of the request counter from prometheus.csv, when it was recorded."""
    _by_kind: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def signal(self, name: str) -> pd.Series:
        """The named signal, or an all-NaN series on the same grid when it was not recorded."""
        if name in self.signals.columns:
            return self.signals[name]
        return pd.Series(np.nan, index=self.signals.index, dtype="float64", name=name)

    def has(self, name: str) -> bool:
        """Whether the signal was recorded with at least one value."""
        return name in self.signals.columns and bool(self.signals[name].notna().any())

    def events_of(self, kind: str) -> pd.DataFrame:
        """Events of one kind, in time order."""
        if not self._by_kind and not self.events.empty:
            for key, rows in self.events.groupby("kind", sort=False):
                self._by_kind[str(key)] = rows
        found = self._by_kind.get(kind)
        return found if found is not None else self.events.iloc[0:0]

    def decisions(self) -> pd.DataFrame:
        """What is known of the HPA's decisions, in time order: its syncs (``hpa_decision``,
        where the platform runs the HPA) or its observed status changes (``hpa_status``, on a
        cluster, whose syncs cannot be seen from outside)."""
        syncs, statuses = self.events_of("hpa_decision"), self.events_of("hpa_status")
        if statuses.empty:
            return syncs
        if syncs.empty:
            return statuses
        return pd.concat([syncs, statuses]).sort_values("t_s", kind="stable")

    @property
    def duration_s(self) -> float:
        """Length of the measured window: number of samples × ``dt_s`` (0 when empty)."""
        return float(len(self.signals)) * self.dt_s


def parse_detail(detail: Any) -> dict[str, Any]:
    """An event detail as a dict: the JSON object it holds, else ``{}`` (free text)."""
    if not isinstance(detail, str) or not detail.startswith("{"):
        return {}
    try:
        parsed = json.loads(detail)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def number(fields: dict[str, Any], key: str) -> float:
    """A numeric field of an event detail, NaN when absent or not a number."""
    value = fields.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return math.nan
    try:
        return float(value)
    except ValueError:
        return math.nan


def make_trace(
    trial_id: str, tidy: pd.DataFrame, events: pd.DataFrame, *, dt_s: float | None = None
) -> Trace:
    """Build a :class:`Trace` from one trial's rows of timeseries.csv and events.csv.

    Duplicate samples of a signal at one instant keep the last value. Samples before the load
    phase (negative ``t_s``, the warm-up) are dropped; the cool-down is measured, so it stays.
    Events keep their full range. ``dt_s`` defaults to the median sample spacing.
    """
    frame = tidy[["t_s", "signal", "value"]].drop_duplicates(["t_s", "signal"], keep="last")
    wide = frame.pivot(index="t_s", columns="signal", values="value")
    return _window(trial_id, wide, _prepare_events(events), dt_s)


def _window(trial_id: str, wide: pd.DataFrame, evts: pd.DataFrame, dt_s: float | None) -> Trace:
    wide = wide.sort_index()
    wide.columns.name = None
    wide.index = pd.Index(wide.index.astype("float64"), name="t_s")
    wide = wide[wide.index >= 0]
    if dt_s is None:
        steps = np.diff(wide.index.to_numpy())
        dt_s = float(np.median(steps)) if len(steps) else 1.0
    return Trace(
        trial_id=trial_id,
        signals=wide.astype("float64"),
        events=evts,
        dt_s=dt_s,
        load_end_s=phase_start(evts, "cooldown"),
    )


def _prepare_events(events: pd.DataFrame) -> pd.DataFrame:
    if events.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in EVENT_COLUMNS})
    frame = events[["t_s", "kind", "object", "detail"]].copy()
    frame["t_s"] = frame["t_s"].astype("float64")
    frame["kind"] = frame["kind"].astype("object")
    frame["object"] = frame["object"].astype("object").where(frame["object"].notna(), "")
    frame["fields"] = pd.Series([parse_detail(d) for d in frame["detail"]], index=frame.index)
    return frame.sort_values("t_s", kind="stable").reset_index(drop=True)


def phase_start(events: pd.DataFrame, phase: str) -> float:
    """Time of the first ``phase`` event naming ``phase`` (detail ``{"phase": ...}``); inf if
    there is none."""
    phases = events[events["kind"] == "phase"]
    for t_s, obj, fields in zip(phases["t_s"], phases["object"], phases["fields"], strict=True):
        if phase in (str(fields.get("phase", "")), str(obj)):
            return float(t_s)
    return math.inf


def split_trials(
    timeseries: pd.DataFrame, events: pd.DataFrame, prometheus: pd.DataFrame | None = None
) -> dict[str, Trace]:
    """Every trial of a run as a :class:`Trace`, keyed by ``trial_id``.

    ``prometheus`` (the rows of prometheus.csv) adds each trial's request-counter scrapes when
    it holds a raw counter query. A trial with events but no samples gets an empty signal frame.
    """
    traces: dict[str, Trace] = {}
    by_trial_events = {str(k): g for k, g in events.groupby("trial_id", sort=False)}
    counters = _counters_by_trial(prometheus)
    keys = ["trial_id", "t_s", "signal"]
    unique = timeseries[[*keys, "value"]].drop_duplicates(keys, keep="last")
    wide = unique.set_index(keys)["value"].astype("float64").unstack("signal")
    for trial_id, rows in wide.groupby(level="trial_id", sort=False):
        key = str(trial_id)
        frame = rows.droplevel("trial_id").dropna(axis=1, how="all")
        trial_events = _prepare_events(by_trial_events.get(key, events.iloc[0:0]))
        traces[key] = replace(_window(key, frame, trial_events, None), counters=counters.get(key))
    for key, rows in by_trial_events.items():
        if key not in traces:
            empty = timeseries.iloc[0:0]
            traces[key] = make_trace(key, empty, rows)
    return traces


def _counters_by_trial(prometheus: pd.DataFrame | None) -> dict[str, Counters]:
    if prometheus is None or prometheus.empty:
        return {}
    query = counter_query([str(q) for q in prometheus["query"].unique()])
    if query is None:
        return {}
    rows = prometheus[prometheus["query"] == query]
    return {str(k): counters_from_rows(g) for k, g in rows.groupby("trial_id", sort=False)}


def value_at(series: pd.Series, t_s: float) -> float:
    """The last non-missing value at or before ``t_s``, else the first one after; NaN if none."""
    valid = series.dropna()
    if valid.empty:
        return math.nan
    before = valid[valid.index <= t_s]
    if not before.empty:
        return float(before.iloc[-1])
    return float(valid.iloc[0])
