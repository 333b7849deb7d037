import asyncio
import os
import signal
import time

import aiohttp
import pytest

from hpalab.platforms.local.frontdoor import FrontDoor
from hpalab.platforms.local.processes import pid_alive
from hpalab.platforms.local.replicas import Backoff, ProbeSettings, ReplicaTemplate
from hpalab.platforms.local.supervisor import Supervisor

pytestmark = pytest.mark.integration


async def _until(predicate, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


def _kinds(sup, pod):
    return [e.kind for e in sup.events if e.object == pod]


def _stack(tmp_path, template):
    door = FrontDoor(tmp_path / "door", slots=8)
    door.start()
    sup = Supervisor(
        tmp_path / "pods",
        template,
        router=door,
        probe=ProbeSettings(period_s=0.2),
        backoff=Backoff(base_s=0.5),
        grace_s=5,
    )
    return door, sup


def test_traffic_follows_readiness_crash_restart_and_graceful_removal(tmp_path):
    door, sup = _stack(tmp_path, ReplicaTemplate(startup_delay_s=0.3, latency_s=0.8))

    async def scenario():
        stop = asyncio.Event()
        runner = asyncio.create_task(sup.run(stop))
        async with aiohttp.ClientSession() as http:
            try:
                sup.scale(1)
                await _until(sup.all_ready)
                first = next(iter(sup.replicas))
                async with http.get(door.url + "/") as r:
                    assert (r.status, await r.text()) == (200, f"ok {first}\n")

                sup.scale(2)
                await _until(lambda: sup.ready_count == 2)
                second = next(p for p in sup.replicas if p != first)
                # routed before the Ready event is even recorded
                assert door.routed()[second] == "UP"
                bodies = await asyncio.gather(*(_get(http, door.url) for _ in range(4)))
                assert f"ok {second}\n" in bodies

                # a crash: recorded, unrouted, restarted under the same name
                os.kill(sup.replicas[second].pid, signal.SIGKILL)
                await _until(lambda: "pod_crashed" in _kinds(sup, second))
                bodies = await asyncio.gather(*(_get(http, door.url) for _ in range(4)))
                assert set(bodies) == {f"ok {first}\n"}
                await _until(lambda: sup.ready_count == 2)
                assert sup.replicas[second].restarts == 1

                # graceful removal: requests already at the victim finish with 200
                in_flight = [asyncio.create_task(_get(http, door.url)) for _ in range(6)]
                await asyncio.sleep(0.3)
                victims_before = set(sup.replicas)
                sup.scale(1)
                await _until(lambda: not sup.terminating and len(sup.replicas) == 1)
                results = await asyncio.gather(*in_flight)
                assert all(b.startswith("ok ") for b in results)
                (victim,) = victims_before - set(sup.replicas)
                assert _kinds(sup, victim)[-2:] == ["pod_terminating", "pod_deleted"]
                deleted = next(
                    e for e in sup.events if e.object == victim and e.kind == "pod_deleted"
                )
                assert deleted.detail["exit_code"] == 0  # SIGTERM, not SIGKILL
            finally:
                pids = list(sup.pids().values())
                stop.set()
                await runner
        return pids

    try:
        pids = asyncio.run(scenario())
    finally:
        door.stop()
    assert pids and not any(pid_alive(p) for p in pids)
    assert not sup.pids()


async def _get(http, url):
    async with http.get(url + "/") as response:
        assert response.status == 200
        return await response.text()


def test_unready_replica_gets_no_traffic(tmp_path):
    door, sup = _stack(tmp_path, ReplicaTemplate(startup_delay_s=30))

    async def scenario():
        stop = asyncio.Event()
        runner = asyncio.create_task(sup.run(stop))
        try:
            sup.scale(1)
            await _until(lambda: bool(sup.pids()))
            await asyncio.sleep(0.6)  # probes ran and failed
            async with aiohttp.ClientSession() as http, http.get(door.url + "/") as r:
                return r.status, sup.ready_count
        finally:
            stop.set()
            await runner

    try:
        status, ready = asyncio.run(scenario())
    finally:
        door.stop()
    assert (status, ready) == (503, 0)


def test_a_large_scale_down_settles(tmp_path):
    """Twenty replicas removed at once: the front door's admin socket takes the burst of
    unroute commands one at a time, and every replica leaves the terminating set."""
    door = FrontDoor(tmp_path / "door", slots=24)
    door.start()
    sup = Supervisor(
        tmp_path / "pods",
        ReplicaTemplate(startup_delay_s=0.0),
        router=door,
        probe=ProbeSettings(period_s=0.2),
        grace_s=5,
    )

    async def scenario():
        stop = asyncio.Event()
        runner = asyncio.create_task(sup.run(stop))
        try:
            sup.scale(20)
            await _until(sup.all_ready, timeout_s=90)
            sup.scale(1)
            await _until(sup.all_ready, timeout_s=30)
        finally:
            stop.set()
            await runner

    try:
        asyncio.run(scenario())
    finally:
        door.stop()
    kinds = [e.kind for e in sup.events]
    assert kinds.count("pod_deleted") == 20  # 19 in the scale-down, the last at shutdown
    assert "fault" not in kinds
