import asyncio
import re
import time

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hpalab.sampleapp.__main__ import parse_args, parse_duration
from hpalab.sampleapp.app import AppConfig, burn_cpu, create_app


def _with_client(config, body, *, clock=time.monotonic):
    async def go():
        async with TestClient(TestServer(create_app(config, clock=clock))) as client:
            return await body(client)

    return asyncio.run(go())


def _sample(text, name, **labels):
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_root_counts_requests_by_route_and_status():
    async def body(client):
        for _ in range(3):
            assert (await client.get("/")).status == 200
        assert (await client.get("/missing")).status == 404
        await client.get("/healthz")
        await client.get("/readyz")
        return await (await client.get("/metrics")).text()

    text = _with_client(AppConfig(pod_name="sample-app-abc"), body)
    assert _sample(text, "http_requests_total", path="/", status="200") == 3.0
    assert _sample(text, "http_requests_total", path="unmatched", status="404") == 1.0
    # probes and scrapes are not business traffic
    assert 'path="/healthz"' not in text and 'path="/metrics"' not in text
    assert _sample(text, "http_request_duration_seconds_count", path="/") == 3.0
    assert _sample(text, "http_requests_in_flight") == 0.0
    assert "_created" not in text


def test_root_names_the_pod():
    async def body(client):
        return await (await client.get("/")).text()

    assert _with_client(AppConfig(pod_name="sample-app-x"), body) == "ok sample-app-x\n"
    assert _with_client(AppConfig(), body) == "ok\n"


def test_readiness_waits_for_the_startup_delay():
    now = [100.0]

    async def body(client):
        first = (await client.get("/readyz")).status
        live = (await client.get("/healthz")).status
        now[0] += 2.5
        second = (await client.get("/readyz")).status
        return first, live, second

    result = _with_client(AppConfig(startup_delay_s=2.0), body, clock=lambda: now[0])
    assert result == (503, 200, 200)


def test_in_flight_gauge_counts_a_waiting_request():
    async def body(client):
        slow = asyncio.ensure_future(client.get("/"))
        await asyncio.sleep(0.1)
        text = await (await client.get("/metrics")).text()
        await slow
        return text

    text = _with_client(AppConfig(latency_s=0.3), body)
    assert _sample(text, "http_requests_in_flight") == 1.0


def test_burn_cpu_uses_cpu_time():
    before = time.thread_time()
    burn_cpu(0.02)
    assert time.thread_time() - before >= 0.02
    burn_cpu(0)  # no-op


@pytest.mark.parametrize("field", ["cpu_per_request_s", "latency_s", "startup_delay_s"])
@pytest.mark.parametrize("value", [-1.0, float("nan")])
def test_config_rejects_negative_and_nan(field, value):
    with pytest.raises(ValueError, match=field):
        AppConfig(**{field: value})


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("2ms", 0.002), ("1.5s", 1.5), ("1m", 60.0), ("3", 3.0), ("250us", 2.5e-4)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "ms", "-1s", "2h", "two"])
def test_parse_duration_rejects_garbage(text):
    with pytest.raises(ValueError, match=re.escape(repr(text))):
        parse_duration(text)


def test_options_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("HPALAB_APP_CPU", "5ms")
    monkeypatch.setenv("HPALAB_APP_PORT", "9999")
    args = parse_args([])
    assert args.cpu_per_request == pytest.approx(0.005)
    assert args.port == 9999
    assert parse_args(["--latency", "20ms"]).latency == pytest.approx(0.02)


def test_worker_slots_queue_then_refuse_past_the_queue_limit():
    # one slot, one queue place: of three simultaneous requests one is served at once, one
    # waits a full service time, the third is refused
    config = AppConfig(latency_s=0.2, concurrency=1, queue_limit=1)

    async def body(client):
        async def timed():
            begin = time.perf_counter()
            response = await client.get("/")
            return response.status, time.perf_counter() - begin

        first = asyncio.ensure_future(timed())
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(timed())
        await asyncio.sleep(0.05)
        queued = _sample(await (await client.get("/metrics")).text(), "http_requests_queued")
        third = await timed()
        results = [await first, await second, third]
        return results, queued, await (await client.get("/metrics")).text()

    (first, second, third), queued, text = _with_client(config, body)
    assert first[0] == 200 and second[0] == 200 and third[0] == 503
    assert queued == 1.0
    # the queued request waited for the first one's slot: about two service times in all
    assert second[1] >= 0.3
    assert _sample(text, "http_requests_total", path="/", status="503") == 1.0
    assert _sample(text, "http_requests_queued") == 0.0


def test_worker_slots_without_queue_limit_never_refuse():
    config = AppConfig(latency_s=0.05, concurrency=2)

    async def body(client):
        responses = await asyncio.gather(*(client.get("/") for _ in range(6)))
        return [r.status for r in responses]

    assert _with_client(config, body) == [200] * 6


@pytest.mark.parametrize(("field", "value"), [("concurrency", -1), ("queue_limit", -2)])
def test_worker_slot_settings_must_not_be_negative(field, value):
    with pytest.raises(ValueError, match=field):
        AppConfig(**{field: value})


def test_concurrency_and_queue_limit_from_the_command_line_and_environment(monkeypatch):
    args = parse_args(["--concurrency", "3", "--queue-limit", "20"])
    assert (args.concurrency, args.queue_limit) == (3, 20)
    assert parse_args([]).queue_limit is None
    monkeypatch.setenv("HPALAB_APP_CONCURRENCY", "4")
    monkeypatch.setenv("HPALAB_APP_QUEUE_LIMIT", "0")
    args = parse_args([])
    assert (args.concurrency, args.queue_limit) == (4, 0)
