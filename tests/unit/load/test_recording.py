"""Per-second records of one load process, and merging them across processes."""

import json

import pytest

from hpalab.load.recording import Recorder
from hpalab.load.samples import WorkerSecond, merge_second
from hpalab.results.schema import TIMESERIES_SIGNALS


def test_counts_land_in_their_seconds_and_close_in_order():
    rec = Recorder(worker=1)
    rec.users = 7
    rec.sent(0.2, late_s=0.003)
    rec.ended(0.25, 5.0, 200)
    rec.sent(0.9, late_s=0.0)
    rec.ended(1.1, 20.0, 503)
    rec.sent(1.5, late_s=0.0)
    rec.ended(1.6, 1.0, 0)
    rec.dropped(2.2)
    first, second = rec.close(2)
    assert (first.t_s, first.sent, first.responses, first.failures) == (0, 2, 1, 0)
    assert first.late_max_ms == pytest.approx(3.0)
    assert (second.sent, second.responses, second.failures, second.conn_errors) == (1, 1, 2, 1)
    assert first.users == second.users == 7
    (third,) = rec.close(3)
    assert third.dropped == 1 and third.sent == 0


def test_late_records_go_to_the_next_open_second():
    rec = Recorder(worker=0)
    rec.sent(0.5, late_s=0)
    assert [r.t_s for r in rec.close(1)] == [0]
    rec.ended(0.999, 2.0, 200)  # its second was already handed out
    (again,) = rec.close(2)
    assert again.t_s == 1 and again.responses == 1


def test_quiet_seconds_are_reported_as_zeros():
    records = Recorder(worker=0).close(3)
    assert [(r.t_s, r.sent) for r in records] == [(0, 0), (1, 0), (2, 0)]


def test_wire_round_trip():
    rec = Recorder(worker=2)
    rec.sent(0.1, late_s=0.01)
    rec.ended(0.2, 3.0, 200)
    rec.lag(0.3, 0.015)
    (record,) = rec.close(1)
    again = WorkerSecond.from_message(json.loads(record.to_line()))
    assert again.__dict__.keys() == record.__dict__.keys()
    assert again.histogram.buckets == record.histogram.buckets
    assert again.loop_lag_ms == pytest.approx(15.0)


def test_merge_sums_counts_and_reads_percentiles_from_the_merged_histogram():
    a, b = Recorder(worker=0), Recorder(worker=1)
    for _ in range(90):
        a.sent(0.1, late_s=0)
        a.ended(0.2, 1.0, 200)
    for _ in range(10):
        b.sent(0.1, late_s=0)
        b.ended(0.3, 100.0, 500)
    parts = a.close(1) + b.close(1)
    sample = merge_second(0, parts, offered_rps=100.0, scheduled=101, generator_cpu=0.4)
    assert (sample.sent_rps, sample.achieved_rps, sample.failures) == (100, 100, 10)
    assert sample.latency_p50_ms == pytest.approx(1.0, rel=0.02)
    assert sample.latency_p99_ms == pytest.approx(100.0, rel=0.02)
    assert sample.error_rate == pytest.approx(0.1)
    signals = sample.signals()
    for name in ("offered_rps", "achieved_rps", "users", "error_rate", "latency_p95_ms"):
        assert name in signals and name in TIMESERIES_SIGNALS


def test_second_without_responses_has_no_percentiles_and_zero_error_rate():
    sample = merge_second(0, [WorkerSecond(worker=0, t_s=0)], offered_rps=0.0, scheduled=0)
    assert sample.latency_p50_ms is None and sample.error_rate == 0.0
    assert "latency_p50_ms" not in sample.signals()
    assert json.loads(json.dumps(sample.to_json()))["t_s"] == 0


def test_malformed_message_is_refused():
    with pytest.raises(KeyError):
        WorkerSecond.from_message({"worker": 0})


def test_task_records_travel_to_the_merged_second_and_its_signals():
    recorders = [Recorder(0), Recorder(1)]
    for worker, recorder in enumerate(recorders):
        for i in range(3 + worker):
            recorder.sent(0.1 * i, 0.0)
            recorder.ended(0.1 * i + 0.05, 50.0, 200)
            recorder.task("browse", 0.1 * i + 0.05, 50.0, failed=False)
        recorder.sent(0.5, 0.0)
        recorder.ended(0.6, 100.0, 401)
        recorder.task("add_to_cart", 0.6, 100.0, failed=True)
    parts = [WorkerSecond.from_message(json.loads(r.close(1)[0].to_line())) for r in recorders]
    sample = merge_second(0, parts, offered_rps=9.0, scheduled=9)
    assert sample.tasks["browse"]["count"] == 7
    assert sample.tasks["add_to_cart"] == {
        "count": 2.0,
        "failures": 2.0,
        "p50_ms": pytest.approx(100, rel=0.03),
        "p95_ms": pytest.approx(100, rel=0.03),
    }
    signals = sample.signals()
    assert signals["task_rps:browse"] == 7 and signals["task_failures:add_to_cart"] == 2
    assert signals["task_p95_ms:browse"] == pytest.approx(50, rel=0.03)
    assert sample.to_json()["tasks"]["browse"]["count"] == 7
    assert "tasks" not in merge_second(1, [], offered_rps=0.0, scheduled=0).to_json()
