"""The load driver with real Locust processes against a real sample app on 127.0.0.1.

Each test runs a few seconds of load and at most a few thousand requests.
"""

import json
import os
import re
import signal
import time
import urllib.request

import pytest

from hpalab.load.arrivals import arrival_times, counts_per_second
from hpalab.load.driver import LoadRun, run_load
from hpalab.load.job import LoadJob
from hpalab.specs.profiles import ProfileSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

EVERY_STAGE = [
    {"type": "hold", "rps": 20, "duration": "2s"},
    {"type": "ramp", "to": 80, "duration": "3s"},
    {"type": "step", "rps": 150, "duration": "2s"},
    {"type": "spike", "rps": 250, "peakDuration": "1s", "duration": "3s"},
    {"type": "sine", "mean": 100, "amplitude": 50, "period": "4s", "duration": "4s"},
    {"type": "trace", "file": "t.csv", "points": [[0, 60], [2, 20]]},
]


def profile(stages, **arrivals):
    data = {"stages": stages, "arrivals": {"process": "uniform", **arrivals}}
    return ProfileSpec.model_validate_json(json.dumps(data))


def served(port):
    """Requests the app counted (http_requests_total, all labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    values = re.findall(r"^http_requests_total\{.*\} (\S+)$", text, re.M)
    return round(sum(float(v) for v in values))


def assert_all_stopped(run):
    assert run.processes
    assert all(p.proc.poll() is not None for p in run.processes)


def test_every_stage_type_is_delivered_second_by_second(tmp_path, sample_app):
    port = sample_app()
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=profile(EVERY_STAGE))
    before = served(port)
    with LoadRun(job, workdir=tmp_path) as run:
        samples = list(run.samples())
    outcome = run.outcome
    assert_all_stopped(run)
    assert outcome.status == "complete", outcome.reason
    assert [s.t_s for s in samples] == list(range(16))
    for s in samples:
        assert abs(s.scheduled - s.offered_rps) <= 1, s  # uniform arrivals: exact
        assert abs(s.achieved_rps - s.scheduled) <= 0.05 * s.scheduled + 3, s
        assert s.dropped == 0 and s.failures == 0
        assert s.latency_p50_ms is not None and s.latency_p99_ms >= s.latency_p50_ms
    by_stage = {"hold": (0, 2), "ramp": (2, 5), "step": (5, 7), "spike": (7, 10), "sine": (10, 14)}
    for kind, (a, b) in by_stage.items():
        achieved = sum(s.achieved_rps for s in samples[a:b])
        offered = sum(s.offered_rps for s in samples[a:b])
        assert achieved == pytest.approx(offered, rel=0.03), kind
    assert samples[7].achieved_rps > 200 > samples[9].achieved_rps  # the spike's peak second
    assert served(port) - before == sum(s.sent_rps for s in samples)
    steps = [json.loads(e.detail)["type"] for e in outcome.events if e.kind == "load_step"]
    assert steps == ["hold", "ramp", "step", "spike", "sine", "trace"]


def test_two_workers_send_the_seeded_poisson_schedule(tmp_path, sample_app):
    port = sample_app()
    spec = profile([{"type": "hold", "rps": 60, "duration": "5s"}], process="poisson", seed=7)
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec, workers=2)
    before = served(port)
    outcome = run_load(job, workdir=tmp_path)
    assert outcome.status == "complete", outcome.reason
    expected = counts_per_second(
        arrival_times(job.curve(), process="poisson", seed=7), job.curve().duration_s
    )
    assert [s.scheduled for s in outcome.samples] == expected
    assert sum(s.achieved_rps for s in outcome.samples) == sum(expected)
    assert served(port) - before == sum(expected)
    assert all(s.users >= 2 for s in outcome.samples)


def test_connection_errors_are_failures_and_a_shortfall(tmp_path, free_port):
    spec = profile([{"type": "hold", "rps": 30, "duration": "4s"}])
    job = LoadJob(url=f"http://127.0.0.1:{free_port()}", profile=spec, timeout_s=1.0)
    outcome = run_load(job, workdir=tmp_path)
    assert outcome.status == "load_shortfall"
    (shortfall,) = outcome.shortfalls
    assert shortfall.reason == "connection_errors"
    assert sum(s.failures for s in outcome.samples) == sum(s.sent_rps for s in outcome.samples) > 0
    assert all(s.error_rate == 1.0 for s in outcome.samples if s.sent_rps)
    (event,) = [e for e in outcome.events if e.kind == "load_shortfall"]
    assert json.loads(event.detail)["reason"] == "connection_errors"


def test_requests_slower_than_the_timeout_fail(tmp_path, sample_app):
    port = sample_app("--latency", "400ms")
    spec = profile([{"type": "hold", "rps": 20, "duration": "3s"}])
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec, timeout_s=0.1)
    outcome = run_load(job, workdir=tmp_path)
    sent = sum(s.sent_rps for s in outcome.samples)
    assert sent >= 50
    # Every request times out: a failure without a response, never a latency figure.
    assert sum(s.conn_errors for s in outcome.samples) >= sent - 2
    assert sum(s.achieved_rps for s in outcome.samples) == 0
    assert outcome.status == "load_shortfall"


def test_slow_app_with_a_small_pool_is_app_overloaded(tmp_path, sample_app):
    port = sample_app("--latency", "250ms")
    spec = profile([{"type": "hold", "rps": 60, "duration": "5s"}])
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec, max_users=4)
    outcome = run_load(job, workdir=tmp_path)
    assert outcome.status == "load_shortfall"
    (shortfall,) = outcome.shortfalls
    assert shortfall.reason == "app_overloaded"
    assert shortfall.ratio < 0.5
    assert sum(s.dropped for s in outcome.samples) > 0
    assert max(s.users for s in outcome.samples) == 4


def test_locust_crash_at_start_fails_with_its_stderr(tmp_path, sample_app, monkeypatch):
    port = sample_app()
    spec = profile([{"type": "hold", "rps": 10, "duration": "5s"}])
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec)
    monkeypatch.setattr(LoadJob, "to_json", lambda self: '{"url": "broken"}')
    with LoadRun(job, workdir=tmp_path) as run:
        samples = list(run.samples())
    assert_all_stopped(run)
    assert samples == []
    assert run.outcome.status == "failed"
    assert "exited with code" in run.outcome.reason
    (fault,) = [e for e in run.outcome.events if e.kind == "fault"]
    stderr = json.loads(fault.detail)["stderr"]["single"]
    assert "Traceback" in stderr and "KeyError" in stderr


def test_worker_killed_mid_run_fails_and_leaves_no_process(tmp_path, sample_app):
    port = sample_app()
    spec = profile([{"type": "hold", "rps": 20, "duration": "10s"}])
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec, workers=1)
    with LoadRun(job, workdir=tmp_path) as run:
        for sample in run.samples():
            if sample.t_s == 1:
                worker = next(p for p in run.processes if p.role == "worker")
                os.kill(worker.proc.pid, signal.SIGKILL)
    assert_all_stopped(run)
    assert run.outcome.status == "failed"
    assert "worker-0" in run.outcome.reason
    assert 2 <= len(run.outcome.samples) < 10
    assert any(e.kind == "fault" for e in run.outcome.events)


def test_cancel_ends_the_run_incomplete(tmp_path, sample_app):
    port = sample_app()
    spec = profile([{"type": "hold", "rps": 20, "duration": "20s"}])
    job = LoadJob(url=f"http://127.0.0.1:{port}", profile=spec)
    with LoadRun(job, workdir=tmp_path) as run:
        for sample in run.samples():
            if sample.t_s == 1:
                run.cancel()
    assert_all_stopped(run)
    assert run.outcome.status == "incomplete"
    assert run.outcome.reason == "cancelled"
    assert len(run.outcome.samples) == 2


@pytest.mark.parametrize("model", ["open", "closed"])
def test_a_start_on_a_grid_waits_for_its_instant_and_sends_nothing_before(
    tmp_path, sample_app, model
):
    """A trial aligned to the HPA's sync cycle: the profile starts at the first grid instant
    Locust can make, and no request is sent before it (closed-model users included)."""
    port = sample_app()
    anchor = time.time() + 8.0  # later than Locust's start: the profile waits for it
    closed = {"model": "closed", "think_time_s": 0.5} if model == "closed" else {}
    job = LoadJob(
        url=f"http://127.0.0.1:{port}",
        profile=profile([{"type": "hold", "rps": 4, "duration": "3s"}]),
        t0_grid=(anchor, 20.0),  # anchor - 20 s has passed when Locust starts
        **closed,
    )
    before = served(port)
    with LoadRun(job, workdir=tmp_path) as run:
        samples = []
        for sample in run.samples():
            if not samples:
                t0, served_when_started = run.t0_epoch, served(port) - before
            samples.append(sample)
    assert run.outcome.status == "complete", run.outcome.reason
    # Locust was up long before the anchor, so the first grid instant it could make is it
    assert t0 == pytest.approx(anchor, abs=1e-3)
    assert [s.t_s for s in samples] == [0, 1, 2]
    # nothing before t0: what second 0 recorded is all the app had served by then
    assert served_when_started <= samples[0].sent_rps
    extra = served(port) - before - sum(s.sent_rps for s in samples)
    if model == "open":
        assert extra == 0
    else:
        # closed-model users spawn a second before t0 and stop a second after the end with
        # tasks in flight (the closed-model test allows the same), at 4 users / 0.5 s; the
        # 8 s wait for the anchor would add 64 more
        assert 0 <= extra <= 16
