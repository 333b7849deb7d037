import asyncio

import pytest

from hpalab.platforms.local.replicas import Backoff, Replica, ReplicaTemplate
from hpalab.platforms.local.supervisor import Supervisor


class ExitedProcess:
    """Stands in for a Popen whose process has exited."""

    pid = 4242

    def __init__(self, code):
        self.returncode = code

    def poll(self):
        return self.returncode


def _crash(sup, replica, *, now, code=1):
    replica.proc = ExitedProcess(code)
    replica.restart_at = None

    async def go():
        sup._check_exits(now)
        await asyncio.gather(*list(sup._tasks))

    asyncio.run(go())
    return sup.events[-1]


@pytest.fixture
def sup(tmp_path):
    return Supervisor(tmp_path, ReplicaTemplate(), backoff=Backoff(base_s=10, cap_s=40))


def test_crashes_back_off_and_the_streak_resets_after_a_long_run(sup):
    replica = Replica(name="sample-app-x", port=1, created_at=0.0, started_at=0.0, ready_at=1.0)
    sup.replicas[replica.name] = replica
    first = _crash(sup, replica, now=5.0, code=3)
    assert first.kind == "pod_crashed"
    assert first.detail == {
        "exit_code": 3,
        "restarts": 1,
        "was_ready": True,
        "restart_in_s": 0.0,
    }
    assert not replica.ready and replica.ready_changed_at == 5.0
    assert replica.phase == "CrashLoopBackOff"
    delays = [_crash(sup, replica, now=6.0 + i).detail["restart_in_s"] for i in range(4)]
    assert delays == [10.0, 20.0, 40.0, 40.0]
    assert replica.restarts == 5  # restartCount never resets
    replica.started_at = 100.0
    assert _crash(sup, replica, now=100.0 + 600.0).detail["restart_in_s"] == 0.0


def test_a_terminating_replica_exiting_is_not_a_crash(sup):
    replica = Replica(name="p", port=1, created_at=0.0, proc=ExitedProcess(0))
    sup.terminating[replica.name] = replica
    asyncio.run(_no_loop_needed(sup))
    assert not sup.events


async def _no_loop_needed(sup):
    sup._check_exits(1.0)


def test_scale_rejects_negative_counts(sup):
    with pytest.raises(ValueError, match="≥ 0"):
        sup.scale(-1)
    sup.scale(3)
    assert sup.desired == 3 and not sup.all_ready()


class BrokenRouter:
    """A front door whose admin socket drops every command."""

    async def route(self, pod, port):
        raise AssertionError("not expected")

    async def unroute(self, pod):
        from hpalab.errors import PlatformError

        raise PlatformError("the front door's admin socket dropped the command")

    async def in_flight(self, pod):
        return 0


def test_a_replica_is_removed_even_when_the_front_door_fails(tmp_path):
    sup = Supervisor(tmp_path, ReplicaTemplate(), router=BrokenRouter(), grace_s=1)
    replica = Replica(name="sample-app-x", port=1, created_at=0.0, proc=ExitedProcess(0))
    sup.replicas[replica.name] = replica
    sup.scale(0)

    async def go():
        sup._reconcile_count(1.0)
        await asyncio.gather(*list(sup._tasks))

    asyncio.run(go())
    assert not sup.terminating and not sup.replicas
    assert sup.all_ready()  # a reset waiting for the replica set can go on
    kinds = [e.kind for e in sup.events]
    assert kinds == ["pod_terminating", "fault", "pod_deleted"]
    assert "dropped" in sup.events[1].detail["error"]
