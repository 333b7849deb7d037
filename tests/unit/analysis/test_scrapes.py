import json
import math

import pandas as pd
import pytest

from hpalab.analysis.episodes import Slo, find_episodes
from hpalab.analysis.scrapes import counter_query, counters_from_rows
from hpalab.analysis.traces import split_trials

from .builders import decision, piecewise, step

QUERY = "sum by (namespace, pod) (http_requests_total)"


def _rows(trial: str, pod: str, scrapes: list[tuple[float, float]], *, start=-10.0, end=60.0):
    """prometheus.csv rows at 1 s resolution of a counter scraped at the given instants."""
    rows, value, t = [], scrapes[0][1], start
    labels = json.dumps({"pod": pod})
    pending = list(scrapes)
    while t <= end:
        while pending and pending[0][0] <= t:
            value = pending.pop(0)[1]
        rows.append({"trial_id": trial, "t_s": t, "query": QUERY, "labels": labels, "value": value})
        t += 1.0
    return rows


def test_counter_query_is_the_raw_counter():
    queries = ["up", "sum by (pod) (rate(http_requests_total[30s]))", QUERY]
    assert counter_query(queries) == QUERY
    assert counter_query(["up"]) is None


def test_scrape_instants_and_windowed_rate():
    # Scraped every 5 s from t = -10: 10 requests/s until 0, then 30 requests/s.
    scrapes = [(t, 10.0 * min(t, 0) + 30.0 * max(t, 0) + 1000) for t in range(-10, 61, 5)]
    counters = counters_from_rows(pd.DataFrame(_rows("a#1", "p1", scrapes)))
    assert counters.first_scrape_after(2.0) == 5.0
    assert math.isinf(counters.first_scrape_after(60.0))
    assert counters.total_rate(20.0, 10.0) == pytest.approx(30.0)
    assert counters.total_rate(5.0, 10.0) == pytest.approx((150 + 50) / 10)
    assert counters.total_rate(5.0, 1.0) == 0.0  # one sample in the window: no rate
    assert counters.covers(5.0, 10.0) and not counters.covers(5.0, 20.0)


def test_waterfall_uses_scrapes_and_rate_when_the_counter_was_recorded():
    # Step 10 → 30 rps at t0 = 10 with 1 pod, target 10, tolerance 0.1, rate window 10 s,
    # scrapes every 5 s at 2, 7, 12, 17, ...: first scrape after t0 at 12, and rate() over
    # [2, 12] is already (160 − 20) / 10 = 14 > 11 there; syncs every 15 s at 5, 20: the
    # decision at 20 after 8 s of sync wait.
    scrapes = []
    for t in range(-8, 61, 5):
        scrapes.append((t, 10.0 * min(t, 10) + 30.0 * max(t - 10, 0)))
    prometheus = pd.DataFrame(_rows("a#1", "p1", scrapes))
    length = 40
    signals = {
        "demand_replicas": piecewise(length, (0, 1), (10, 3)),
        "ready_replicas": [1.0] * length,
        "spec_replicas": piecewise(length, (0, 1), (20, 3)),
        "metric_target": [10.0] * length,
        "metric_value": piecewise(length, (0, 10), (20, 30)),
    }
    tidy = pd.DataFrame(
        [
            {"trial_id": "a#1", "t_s": float(t), "signal": k, "value": v[t]}
            for k, v in signals.items()
            for t in range(length)
        ]
    )
    events = pd.DataFrame(
        [
            {
                "trial_id": "a#1",
                "t_s": e[0],
                "kind": e[1],
                "object": e[2],
                "detail": json.dumps(e[3]),
            }
            for e in (decision(5, 1, 1), step(10, 10, 30), decision(20, 3, 1))
        ]
    )
    trace = split_trials(tidy, events, prometheus)["a#1"]
    [ep] = find_episodes(trace, slo=Slo(), rate_window_s=10.0)
    w = ep.waterfall
    assert (w.scrape_wait_s, w.rate_window_s, w.sync_wait_s, w.hold_s) == (2, 0, 8, 0)
    # Without the window the metric signal decides: it only moves at the sync.
    [ep] = find_episodes(trace, slo=Slo())
    assert ep.waterfall.scrape_wait_s + ep.waterfall.rate_window_s == 10
