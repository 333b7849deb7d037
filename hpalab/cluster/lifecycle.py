"""``up``, ``down``, ``status`` and the controller-manager restart of one cluster.

``up`` builds what is missing, makes the PKI and the network, starts the components in order
and waits for each to be healthy, then for the node to be Ready and CoreDNS to answer. If
anything fails or is interrupted, it tears down what it made before raising. ``down`` works on
any remains: a running cluster, a half-made one, or what a ``kill -9`` of ``up`` left.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hpalab.cluster import addons, building, network, pki, versions
from hpalab.cluster.components import ORDER, Component
from hpalab.cluster.config import (
    NODE_NAME,
    ClusterConfig,
    ControllerFlags,
    clusters_home,
    free_index,
    known_clusters,
)
from hpalab.cluster.daemons import (
    Daemon,
    cgroup_dirs,
    cluster_pids,
    mounts_under,
    remove_cgroups,
    terminate,
    unmount_under,
)
from hpalab.cluster.runtime import protos, wheels
from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.lifetime import identity_alive, process_identity

Say = Callable[[str], None]

PROGRAMS = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
    "coredns",
    "hpalab-streaming",
]


@dataclass
class Timings:
    """Seconds from the start of ``up`` at which each step was done."""

    marks: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def mark(self, step: str) -> None:
        self.marks[step] = round(time.monotonic() - self.started, 3)


def _wait(
    check: Callable[[], bool], *, timeout_s: float, what: str, daemon: Daemon | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if daemon is not None and daemon.pid() is None:
            raise PlatformError(
                f"{daemon.name} exited while starting:\n{daemon.log_tail()}",
                hint=f"its whole log is {daemon.log}",
            )
        time.sleep(0.1)
    tail = f"\n{daemon.log_tail()}" if daemon is not None else ""
    raise PlatformError(f"{what} not ready after {timeout_s:.0f} s{tail}")


def start_component(config: ClusterConfig, component: Component) -> None:
    if component.prepare is not None:
        component.prepare(config)
    daemon = Daemon(config, component.name)
    daemon.stop()
    daemon.start(component.argv(config))
    _wait(
        lambda: component.healthy(config),
        timeout_s=component.start_timeout_s,
        what=component.name,
        daemon=daemon,
    )


def node_ready(config: ClusterConfig) -> bool:
    try:
        out = addons.kubectl(config, "get", "node", NODE_NAME, "-o", "json", timeout_s=10)
    except PlatformError:
        return False
    conditions = json.loads(out).get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def dns_answers(config: ClusterConfig) -> bool:
    try:
        found = addons.resolve(config.dns_ip, "kubernetes.default.svc.cluster.local")
    except OSError:
        return False
    return config.kubernetes_service_ip in found


def up(
    name: str,
    *,
    controller: ControllerFlags | None = None,
    say: Say = lambda _: None,
) -> tuple[ClusterConfig, Timings]:
    """Start cluster ``name`` (build, PKI, network, components, CoreDNS); see the module doc."""
    network.check_prerequisites()
    check_paths()
    clean_stale(say=say)
    timings = Timings()
    if building.missing(PROGRAMS):
        say("building " + ", ".join(building.missing(PROGRAMS)))
        building.build(PROGRAMS)
    protos.ensure()
    wheels.ensure_all()
    timings.mark("built")
    existing = ClusterConfig.load(name)
    if existing is not None and is_running(existing):
        return existing, timings
    if existing is not None:
        down(name)
    else:
        reclaim(name, say=say)
    config = ClusterConfig(
        name=name,
        index=free_index(name),
        kubernetes_version=versions.kubernetes_version(),
        controller=controller or ControllerFlags(),
    )
    config.save()
    _mark_starting(config)
    try:
        pki.ensure(config)
        network.setup(config)
        timings.mark("network")
        for component in ORDER:
            say(f"starting {component.name}")
            start_component(config, component)
            timings.mark(component.name)
        _wait(lambda: node_ready(config), timeout_s=60, what="node")
        timings.mark("node-ready")
        say("starting CoreDNS")
        addons.apply_coredns(config)
        _wait(lambda: dns_answers(config), timeout_s=90, what="CoreDNS")
        timings.mark("coredns-ready")
    except BaseException:
        down(name)
        raise
    config.path(STARTING).unlink(missing_ok=True)
    return config, timings


def reclaim(name: str, *, say: Say = lambda _: None) -> None:
    """Remove what a cluster ``name`` left with no state of ours, or refuse if it still runs.

    Namespaces and cgroups carry the cluster's name and outlive their processes: a cluster
    started from another state directory (another ``$HOME`` or ``$HPALAB_CLUSTER_DIR``) whose
    processes were all killed, by a reboot of the session or a CI timeout, leaves them behind
    with no state directory that ``down`` could find. Their node namespace holds the name this
    cluster needs.
    """
    probe = ClusterConfig(name=name, index=0, kubernetes_version=versions.kubernetes_version())
    traces = network.namespaces(probe) + [str(d) for d in cgroup_dirs(probe)]
    if not traces:
        return
    pids = cluster_pids(probe)
    if pids:
        raise PlatformError(
            f"a cluster named {name} runs from another state directory than "
            f"{clusters_home()} ({len(pids)} processes in its namespaces or cgroups)",
            hint="take it down with the HOME or $HPALAB_CLUSTER_DIR that started it, "
            "or choose another --name",
        )
    network.delete_namespaces(probe)
    stuck = [*network.namespaces(probe), *remove_cgroups(probe)]
    if stuck:
        raise PlatformError(
            f"could not remove what an earlier cluster {name} left: " + ", ".join(map(str, stuck)),
            hint="remove it by hand, or choose another --name",
        )
    say(f"removed what an earlier cluster {name} left ({', '.join(traces)}): no process used it")


HIDDEN_BY_PODS = Path("/tmp")  # noqa: S108 - the host path pods' emptyDirs are mounted over


def check_paths() -> None:
    """Refuse a state directory or binary cache below ``/tmp``.

    The runtime runs containers as programs of this machine, each in a mount namespace where
    the pod's volumes are mounted at their paths; a pod's emptyDir at ``/tmp`` (metrics-server,
    prometheus-adapter) hides the host's ``/tmp`` from it, and with it the cluster's files and
    the programs, which its container could then not find.
    """
    for what, path, variable in (
        ("the clusters' state directory", clusters_home(), "HPALAB_CLUSTER_DIR"),
        ("the built programs' cache", building.cache_root(), "HPALAB_CACHE_DIR"),
    ):
        if path.resolve().is_relative_to(HIDDEN_BY_PODS.resolve()):
            raise PrerequisiteError(
                f"{what} is below /tmp ({path}): pods that mount an emptyDir at /tmp could "
                "not see it",
                hint=f"set ${variable} (or $HOME) to a directory outside /tmp",
            )


STARTING = "starting.json"
"""In a cluster's state directory while ``up`` runs: the ``up`` process, to tell a cluster
being started from one whose ``up`` was killed (``kill -9``, an OOM kill, a CI timeout)."""


def _mark_starting(config: ClusterConfig) -> None:
    pid, created = process_identity(os.getpid()) or (os.getpid(), 0.0)
    config.path(STARTING).write_text(json.dumps({"pid": pid, "created": created}))


def is_stale(config: ClusterConfig) -> bool:
    """True when the ``up`` that was starting this cluster is gone without finishing (or is a
    zombie, or its PID now belongs to another process)."""
    try:
        mark = json.loads(config.path(STARTING).read_text())
        identity = [int(mark["pid"]), float(mark["created"])]
    except (OSError, ValueError, KeyError, TypeError):
        return config.path(STARTING).exists()
    return not identity_alive(identity)


def clean_stale(*, say: Say = lambda _: None) -> list[str]:
    """Take down every cluster whose ``up`` was killed; return their names."""
    cleaned = []
    for name in known_clusters():
        config = ClusterConfig.load(name)
        if config is not None and is_stale(config):
            left = down(name)
            say(f"cleaned up cluster {name}, whose `up` had been killed")
            if left:
                say("  could not remove: " + "; ".join(left))
            cleaned.append(name)
    return cleaned


def is_running(config: ClusterConfig) -> bool:
    return all(Daemon(config, c.name).pid() is not None for c in ORDER) and all(
        c.healthy(config) for c in ORDER
    )


def restart_controller_manager(name: str, controller: ControllerFlags) -> ClusterConfig:
    """Restart kube-controller-manager with new HPA flags (a run does this per variant)."""
    config = existing(name).with_controller(controller)
    config.save()
    component = next(c for c in ORDER if c.name == "kube-controller-manager")
    start_component(config, component)
    return config


def existing(name: str) -> ClusterConfig:
    """The saved configuration of cluster ``name``; a PlatformError when there is none."""
    config = ClusterConfig.load(name)
    if config is None:
        raise PlatformError(
            f"there is no cluster named {name!r}",
            hint=f"start it with `hpalab cluster up --name {name}`",
        )
    return config


def _created_paths(config: ClusterConfig) -> list[str]:
    """Mount points the runtime's shims made on the host for container paths."""
    runtime = config.path("runtime")
    found: list[str] = []
    with contextlib.suppress(OSError):
        found += (runtime / "created-paths").read_text().split()
    for record in runtime.glob("containers/*/created.json"):
        with contextlib.suppress(OSError, ValueError):
            found += json.loads(record.read_text())
    return found


def _remove_created_paths(config: ClusterConfig) -> None:
    """Remove the mount points containers needed on the host, once no cluster runs.

    A container path that does not exist on the host (``/var/run/secrets/…``) needs an empty
    directory or file there to be mounted on. Removing one that a container of another cluster
    has something mounted on would detach that mount, so they are only recorded (in a ledger
    beside the clusters) while any other cluster exists, and the last ``down`` removes them all.
    """
    ledger = clusters_home() / ".created-paths"
    paths = set(_created_paths(config))
    with contextlib.suppress(OSError):
        paths |= set(ledger.read_text().split())
    others = [n for n in known_clusters() if n != config.name]
    if others:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        ledger.write_text("".join(f"{p}\n" for p in sorted(paths)))
        return
    for path in sorted({Path(p) for p in paths}, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            path.rmdir() if path.is_dir() else path.unlink() if path.stat().st_size == 0 else None
    ledger.unlink(missing_ok=True)


def down(name: str) -> list[str]:
    """Stop cluster ``name`` and remove all it made; return what could not be removed. With no
    state of that name here, remove what a killed cluster of that name left (:func:`reclaim`)."""
    config = ClusterConfig.load(name)
    if config is None:
        reclaim(name)
        return []
    for component in reversed(ORDER):
        Daemon(config, component.name).stop(grace_s=3)
    for _ in range(3):
        pids = cluster_pids(config)
        if not pids:
            break
        terminate(pids, grace_s=2)
    unmount_under(config.state_dir)
    remove_cgroups(config)
    network.teardown(config)
    _remove_created_paths(config)
    left = leftovers(config)
    if not left:
        shutil.rmtree(config.state_dir, ignore_errors=True)
    return left


def leftovers(config: ClusterConfig) -> list[str]:
    """Anything of the cluster that still exists: processes, mounts, cgroups, network."""
    found = [f"process {pid}" for pid in cluster_pids(config)]
    found += [f"mount {m}" for m in mounts_under(config.state_dir)]
    found += [f"cgroup {d}" for d in cgroup_dirs(config)]
    return found + network.leftovers(config)


def status(name: str) -> dict[str, object]:
    """Components with PID and health, and the node's readiness."""
    config = existing(name)
    components = []
    for component in ORDER:
        pid = Daemon(config, component.name).pid()
        healthy = pid is not None and component.healthy(config)
        components.append({"name": component.name, "pid": pid, "healthy": healthy})
    return {
        "name": config.name,
        "kubernetes": config.kubernetes_version,
        "server": config.server,
        "kubeconfig": str(config.kubeconfig),
        "components": components,
        "node_ready": node_ready(config),
        "controller": config.controller.args(),
    }
