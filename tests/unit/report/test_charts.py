import math

import numpy as np

from hpalab.report.charts import (
    Bar,
    Marker,
    Panel,
    Series,
    clock,
    nice_ceiling,
    polyline_points,
    stacked_bars,
    time_ticks,
    timeline,
)


def test_flat_stretches_keep_only_their_ends():
    t = np.arange(6.0)
    [points] = polyline_points(t, [1, 1, 1, 1, 2, 2], y_max=2)
    assert points == "0,55 3,55 4,0 5,0"


def test_steps_draw_a_staircase_and_gaps_split_runs():
    [points] = polyline_points([0, 1, 2], [1, 1, 2], y_max=2, step=True)
    assert points == "0,55 1,55 2,55 2,0"
    runs = polyline_points([0, 1, 2, 3, 4], [1, 1, math.nan, 2, 2], y_max=2)
    assert runs == ["0,55 1,55", "3,0 4,0"]
    assert polyline_points([0, 1], [math.nan, 5], y_max=10) == ["1,55 1,55"]


def test_values_above_the_range_are_drawn_at_the_top():
    [points] = polyline_points([0, 1], [5, 50], y_max=10)
    assert points == "0,55 1,0"


def test_axis_helpers():
    assert nice_ceiling(7.3) == 10 and nice_ceiling(180) == 200 and nice_ceiling(0) == 1
    assert nice_ceiling(2.2) == 2.5
    assert time_ticks(0, 600) == [0, 120, 240, 360, 480, 600]
    assert clock(75) == "1:15" and clock(-5) == "-0:05"


def test_user_text_in_charts_is_escaped():
    bad = "<img src=x onerror=alert(1)>"
    bars = stacked_bars([Bar(bad, [("part", "w-sync", 3.0)])])
    assert "<img" not in bars and "&lt;img" in bars
    panel = Panel(bad, "ms", [Series(bad, "c-p95", [0, 1], [1, 2])], [Marker(0.5, "m-up", bad)])
    svg = timeline([panel], t0=0, t1=1, chart_id=bad)
    assert "<img" not in svg
    assert svg.count("<polyline") == 1 and 'data-name="&lt;img' in svg


def test_predicted_band_is_drawn_as_a_whisker_and_widens_the_scale():
    bar = Bar("v", [("sync wait", "w-sync", 5.0)], band=(4.0, 9.0, 40.0))
    svg = stacked_bars([bar])
    assert svg.count('class="whisker"') == 1 and "worst 40.0 s" in svg
    assert ">40 s<" in svg  # the axis reaches the worst case
    assert 'class="whisker"' not in stacked_bars([Bar("v", [("x", "w-sync", 1.0)])])
