"""``hpalab cluster up`` and ``down`` of clusters of their own, beside the shared one: down
leaves nothing behind, even after ``kill -9`` of ``up`` half-way."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpalab.cluster import addons, lifecycle, network, versions
from hpalab.cluster.config import ClusterConfig, clusters_home
from hpalab.cluster.daemons import cgroup_dirs, cluster_pids, terminate, unmount_under
from hpalab.errors import PlatformError
from tests.cluster.conftest import wait_for


def _everything_of(config: ClusterConfig) -> list[str]:
    """Each kind of thing listed by the system's own tools, filtered to the cluster's."""
    found = []
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True)
    found += [line for line in ps.stdout.splitlines() if str(config.state_dir) in line]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    found += [
        n
        for n in netns.stdout.split()
        if n == config.netns or n.startswith(config.pod_netns_prefix)
    ]
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    found += [line for line in links.stdout.splitlines() if f" {config.host_veth}@" in line]
    routes = subprocess.run(
        ["ip", "route", "show", "table", "all"], capture_output=True, text=True, check=True
    )
    found += [
        r for r in routes.stdout.splitlines() if config.pod_cidr in r or config.service_cidr in r
    ]
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [m for m in mounts if str(config.state_dir) in m]
    cgroup = config.cgroup_root.strip("/")
    found += [f"cgroup {h}" for h in Path("/sys/fs/cgroup").iterdir() if (h / cgroup).is_dir()]
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True)
    found += [
        r for r in rules.stdout.splitlines() if config.pod_cidr in r or config.service_cidr in r
    ]
    return found


def test_down_after_pods_leaves_nothing() -> None:
    name = "test-down"
    config, _ = lifecycle.up(name)
    try:
        addons.kubectl(
            config, "run", "p", "--image=hpalab/toolbox", "--command", "--", "sleep", "1h"
        )
        wait_for(
            lambda: (
                "Running"
                in addons.kubectl(config, "get", "pod", "p", "-o", "jsonpath={.status.phase}")
            ),
            timeout_s=60,
            what="the pod to run",
        )
        assert _everything_of(config), "a running cluster should be visible to the system's tools"
    finally:
        left = lifecycle.down(name)
    assert left == []
    assert _everything_of(config) == []
    assert not config.state_dir.exists()


def _hpalab(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hpalab.cli.main", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _kill_up_at(name: str, step: str) -> ClusterConfig:
    """Start ``hpalab cluster up``, ``kill -9`` it once it says ``step``; the half-made cluster."""
    up = subprocess.Popen(
        [sys.executable, "-m", "hpalab.cli.main", "cluster", "up", "--name", name],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert up.stderr is not None
    for line in up.stderr:
        if step in line:
            break
    time.sleep(1)
    os.kill(up.pid, signal.SIGKILL)
    up.wait()
    config = ClusterConfig.load(name)
    assert config is not None
    assert _everything_of(config), "the killed up left a half-made cluster to clean"
    assert lifecycle.is_stale(config)
    return config


@pytest.mark.parametrize(
    ("step", "cleaner"),
    [
        ("starting etcd", ("cluster", "down", "--name", "test-kill")),
        ("starting kube-scheduler", ("down", "--all")),
        ("starting kubelet", ("down", "--all")),
    ],
)
def test_kill_9_of_up_leaves_nothing_once_cleaned(step: str, cleaner: tuple[str, ...]) -> None:
    config = _kill_up_at("test-kill", step)
    done = _hpalab(*cleaner)
    assert done.returncode == 0, done.stderr
    if cleaner[0] == "down":  # the lab command's sweep found the stale cluster by itself
        assert "cleaned up cluster test-kill, whose `up` had been killed" in done.stdout
        # ...and left the shared cluster alone, naming it
        assert "cluster test-kill is still up" not in done.stdout
    assert _everything_of(config) == []
    assert not config.state_dir.exists()


def test_the_next_up_cleans_a_killed_up_of_another_cluster() -> None:
    killed = _kill_up_at("test-kill", "starting kube-apiserver")
    config, _ = lifecycle.up("test-next")
    try:
        # the new cluster may take the freed index, and with it the same link and routes:
        # what is left of the killed one is what carries its name
        left = [x for x in _everything_of(killed) if killed.name in x]
        assert left == []
        assert not killed.state_dir.exists()
        assert not any(Path("/sys/fs/cgroup", h, killed.cgroup_root.strip("/")).exists()
                       for h in ("cpu", "memory", "cpuacct", "pids"))  # fmt: skip
        assert lifecycle.is_running(config)
    finally:
        assert lifecycle.down("test-next") == []


def test_the_remains_of_a_cluster_of_another_state_directory_are_reclaimed() -> None:
    """A cluster started from another state directory, then killed with it gone (a reboot of
    a session, a CI machine handed on): its namespaces, veth and cgroups carry the name."""
    name = "test-orphan"
    other = clusters_home().parent / "another-state-dir"
    env = {**os.environ, "HPALAB_CLUSTER_DIR": str(other)}
    argv = [sys.executable, "-m", "hpalab.cli.main", "cluster", "up", "--name", name]
    started = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert started.returncode == 0, started.stderr
    probe = ClusterConfig(name=name, index=0, kubernetes_version=versions.kubernetes_version())
    try:
        # while it runs, a cluster of the same name here is refused, and nothing is touched
        with pytest.raises(PlatformError, match="runs from another state directory"):
            lifecycle.up(name)
        assert cluster_pids(probe)
        terminate(cluster_pids(probe), grace_s=0)  # every process of it, as a reboot would
        unmount_under(other)
        shutil.rmtree(other)
        assert network.namespaces(probe) and cgroup_dirs(probe), "it left its traces"
        said: list[str] = []
        config, _ = lifecycle.up(name, say=said.append)
        assert any("removed what an earlier cluster test-orphan left" in s for s in said), said
        assert lifecycle.is_running(config)
    finally:
        assert lifecycle.down(name) == []
        shutil.rmtree(other, ignore_errors=True)
    assert network.namespaces(probe) == [] and cgroup_dirs(probe) == []
