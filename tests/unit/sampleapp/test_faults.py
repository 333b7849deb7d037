"""The fault file: slowdowns a running replica picks up without a restart."""

import asyncio
import json
import time

from aiohttp.test_utils import TestClient, TestServer

from hpalab.sampleapp.app import AppConfig, create_app
from hpalab.sampleapp.faults import NONE, FaultFile, Slowdown, read_slowdown


def _write(path, data):
    tmp = path.with_name(".tmp")
    tmp.write_text(data if isinstance(data, str) else json.dumps(data))
    tmp.replace(path)


def test_read_slowdown_ignores_missing_bad_and_negative_values(tmp_path):
    path = tmp_path / "faults.json"
    assert read_slowdown(path) == NONE
    _write(path, "{not json")
    assert read_slowdown(path) == NONE
    _write(path, [1, 2])
    assert read_slowdown(path) == NONE
    _write(path, {"latency_s": 0.2, "cpu_s": -1, "metrics_delay_s": "3"})
    assert read_slowdown(path) == Slowdown(latency_s=0.2)


def test_the_file_is_reread_only_after_the_check_interval(tmp_path):
    path = tmp_path / "faults.json"
    now = [0.0]
    faults = FaultFile(path, clock=lambda: now[0], check_s=1.0)
    assert faults.current() == NONE
    _write(path, {"metrics_delay_s": 2})
    now[0] = 0.5
    assert faults.current() == NONE  # not checked again yet
    now[0] = 1.0
    assert faults.current() == Slowdown(metrics_delay_s=2.0)
    path.unlink()
    now[0] = 2.0
    assert faults.current() == NONE


def test_requests_and_scrapes_slow_down_while_the_file_says_so(tmp_path):
    path = tmp_path / "faults.json"
    _write(path, {"latency_s": 0.2, "metrics_delay_s": 0.3})

    async def timed(client, route):
        begin = time.perf_counter()
        assert (await client.get(route)).status == 200
        return time.perf_counter() - begin

    async def go():
        app = create_app(AppConfig(fault_file=str(path)))
        async with TestClient(TestServer(app)) as client:
            slow = (await timed(client, "/"), await timed(client, "/metrics"))
            _write(path, {})
            await asyncio.sleep(0.25)  # past the check interval
            fast = (await timed(client, "/"), await timed(client, "/metrics"))
            return slow, fast

    (root_slow, metrics_slow), (root_fast, metrics_fast) = asyncio.run(go())
    assert root_slow >= 0.2 and metrics_slow >= 0.3
    assert root_fast < 0.2 and metrics_fast < 0.3
