"""The user's locustfile in the open model and Locust's own closed model, with real Locust
processes against an independent HTTP server the test starts on 127.0.0.1, which counts
every request it answers."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hpalab.load.driver import run_load
from hpalab.load.job import LoadJob
from hpalab.specs.profiles import ProfileSpec

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SERVICE_S = 0.05
"""How long the server takes for each request (except the log-in)."""

LOCUSTFILE = """
from locust import FastHttpUser, task


class Shopper(FastHttpUser):
    def on_start(self):
        token = self.client.post("/login").json()["token"]
        self.auth = {"Authorization": "Bearer " + token}

    @task(3)
    def browse(self):
        self.client.get("/products")

    @task
    def add_to_cart(self):
        self.client.post("/cart", headers=self.auth)
"""


class _Quiet(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return None  # a client stopped mid-request (closed-model ramp-down): not a failure


class Shop:
    """A small threaded HTTP server that counts what it answers, by method and path."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.unauthorized = 0
        self.lock = threading.Lock()
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                time.sleep(SERVICE_S)
                shop.count(f"GET {self.path}")
                self._answer(200, {"products": ["tea"]})

            def do_POST(self) -> None:
                if self.path == "/login":
                    shop.count("POST /login")
                    self._answer(200, {"token": "t0k3n"})
                    return
                time.sleep(SERVICE_S)
                shop.count(f"POST {self.path}")
                if self.headers.get("Authorization") != "Bearer t0k3n":
                    with shop.lock:
                        shop.unauthorized += 1
                    self._answer(401, {"error": "log in first"})
                    return
                self._answer(201, {"added": True})

        self.server = _Quiet(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def count(self, key: str) -> None:
        with self.lock:
            self.counts[key] += 1


@pytest.fixture
def shop() -> Iterator[Shop]:
    server = Shop()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    thread.join(timeout=10)


def _profile(stages: list[dict[str, object]]) -> ProfileSpec:
    data = {"stages": stages, "arrivals": {"process": "uniform"}}
    return ProfileSpec.model_validate_json(json.dumps(data))


def _task_totals(samples: list) -> Counter[str]:
    totals: Counter[str] = Counter()
    for sample in samples:
        for name, values in sample.tasks.items():
            totals[name] += int(values["count"])
    return totals


def test_open_model_runs_the_locustfiles_tasks_by_weight(tmp_path, shop):
    """200 arrivals at 40/s: each runs one task, 3 browse for 1 add to cart, on pooled
    users that logged in once each; the server counts exactly what hpalab recorded."""
    locustfile = tmp_path / "shop.py"
    locustfile.write_text(LOCUSTFILE)
    job = LoadJob(
        url=shop.url,
        # a quiet last second: every task has ended before the last record is closed
        profile=_profile(
            [
                {"type": "hold", "rps": 40, "duration": "5s"},
                {"type": "step", "rps": 0, "duration": "1s"},
            ]
        ),
        locustfile=str(locustfile),
    )
    outcome = run_load(job, workdir=tmp_path / "load")
    assert outcome.status == "complete", outcome.reason
    counts = shop.counts
    assert counts["GET /products"] == 150
    assert counts["POST /cart"] == 50
    assert shop.unauthorized == 0, "a task ran on a user that had not logged in"
    users = max(s.users for s in outcome.samples)
    assert 1 <= counts["POST /login"] <= users  # one log-in per pooled user, not per task
    assert _task_totals(outcome.samples) == {"browse": 150, "add_to_cart": 50}
    assert sum(s.achieved_rps for s in outcome.samples) == 200
    assert sum(s.failures for s in outcome.samples) == 0
    for sample in outcome.samples:
        signals = sample.signals()
        if sample.tasks.get("browse", {}).get("count"):
            assert signals["task_p50_ms:browse"] >= SERVICE_S * 1000 * 0.9
        assert signals.get("task_rps:browse", 0) + signals.get("task_rps:add_to_cart", 0) == (
            sample.achieved_rps
        )


CLOSED_STAGES = [
    {"type": "hold", "users": 2, "duration": "4s"},
    {"type": "ramp", "to": 12, "duration": "5s"},
    {"type": "hold", "duration": "5s"},
    {"type": "step", "users": 4, "duration": "4s"},
]
THINK_S = 0.2


def _stage_users(t: float) -> float:
    if t < 4:
        return 2
    if t < 9:
        return 2 + (t - 4) * 2
    return 12 if t < 14 else 4


def test_closed_model_users_follow_the_stages_and_pace_themselves(tmp_path, shop):
    """Users as the stages say, within one second; each user's rate is 1 / (think time +
    latency), so the achieved rate is users / (think + latency) within 10 %."""
    job = LoadJob(
        url=shop.url,
        profile=_profile(CLOSED_STAGES),
        model="closed",
        think_time_s=THINK_S,
    )
    outcome = run_load(job, workdir=tmp_path / "load")
    assert outcome.status == "complete", outcome.reason
    samples = outcome.samples
    assert [s.t_s for s in samples] == list(range(18))
    for s in samples:
        # the user count at the second's end, against the stages one second either side
        near = [_stage_users(t) for t in (s.t_s, s.t_s + 0.5, s.t_s + 1, s.t_s + 2)]
        assert min(near) - 1 <= s.users <= max(near) + 1, (s.t_s, s.users, near)
        assert s.offered_rps == pytest.approx(
            sum(_stage_users(s.t_s + i / 100) for i in range(100)) / 100 / THINK_S, rel=0.02
        )
    steady = [s for s in samples if s.t_s not in (0, 4, 9, 14)]  # not where users change
    achieved = sum(s.achieved_rps for s in steady)
    expected = sum(
        _stage_users(s.t_s + 0.5) / (THINK_S + (s.latency_p50_ms or 0) / 1000) for s in steady
    )
    assert achieved == pytest.approx(expected, rel=0.10)
    assert sum(s.failures for s in samples) == 0
    # a user stopped by the step down (or the end) loses the task it was in: the server may
    # have answered it, hpalab does not count it
    answered, recorded = shop.counts["GET /"], sum(s.achieved_rps for s in samples)
    assert 0 <= answered - recorded <= 12 + 4
