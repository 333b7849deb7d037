"""The runtime's state and operations, free of gRPC: sandboxes, containers, images, stats.

One lock guards the records; waiting (a container's grace period) happens outside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.runtime import cgroups, containers, images, sandboxes
from hpalab.cluster.runtime.records import ContainerRecord, SandboxRecord, load_all, save


class NotFound(Exception):
    """No sandbox, container or image has the given ID."""


class Runtime:
    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.root = config.path("runtime")
        self.lock = threading.RLock()
        self.sandboxes: dict[str, SandboxRecord] = load_all(self.root / "sandboxes", SandboxRecord)
        self.containers: dict[str, ContainerRecord] = load_all(
            self.root / "containers", ContainerRecord
        )
        self.pulled: set[str] = set(self._load_pulled())
        self.cpu_samples: dict[str, tuple[int, int]] = {}

    # -- sandboxes --------------------------------------------------------------------------

    def sandbox_dir(self, sandbox_id: str) -> Path:
        return self.root / "sandboxes" / sandbox_id

    def run_sandbox(
        self, record: SandboxRecord, dns: tuple[list[str], list[str], list[str]]
    ) -> str:
        """Make the sandbox's network (unless it uses the node's) and record it."""
        with self.lock:
            if not record.host_network:
                used = {s.ip for s in self.sandboxes.values() if s.ready and not s.host_network}
                last = self.root / "last-address"
                after = last.read_text().strip() if last.exists() else None
                record.ip = sandboxes.allocate(self.config, used, after=after)
                last.write_text(record.ip)
                record.netns = sandboxes.create(self.config, record.id, record.ip)
            else:
                record.ip, record.netns = self.config.node_ip, self.config.netns
            directory = self.sandbox_dir(record.id)
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "resolv.conf").write_text(sandboxes.resolv_conf(*dns))
            self.sandboxes[record.id] = record
            save(record, directory)
        return record.id

    def sandbox(self, sandbox_id: str) -> SandboxRecord:
        try:
            return self.sandboxes[sandbox_id]
        except KeyError:
            raise NotFound(f"pod sandbox {sandbox_id} not found") from None

    def stop_sandbox(self, sandbox_id: str) -> None:
        record = self.sandboxes.get(sandbox_id)
        if record is None:
            return
        for container in self.containers_of(sandbox_id):
            containers.stop(container, self.container_dir(container.id), timeout_s=0)
        with self.lock:
            if not record.host_network:
                sandboxes.destroy(self.config, sandbox_id)
            record.ready = False
            save(record, self.sandbox_dir(sandbox_id))

    def remove_sandbox(self, sandbox_id: str) -> None:
        self.stop_sandbox(sandbox_id)
        for container in self.containers_of(sandbox_id):
            self.remove_container(container.id)
        with self.lock:
            self.sandboxes.pop(sandbox_id, None)
            shutil.rmtree(self.sandbox_dir(sandbox_id), ignore_errors=True)

    def containers_of(self, sandbox_id: str) -> list[ContainerRecord]:
        return [c for c in self.containers.values() if c.sandbox_id == sandbox_id]

    # -- containers -------------------------------------------------------------------------

    def container_dir(self, container_id: str) -> Path:
        return self.root / "containers" / container_id

    def container(self, container_id: str) -> ContainerRecord:
        try:
            return self.containers[container_id]
        except KeyError:
            raise NotFound(f"container {container_id} not found") from None

    def create_container(self, sandbox_id: str, fields: dict[str, Any]) -> str:
        """Record a container; ``fields`` are ContainerRecord's, without ids and cgroups."""
        sandbox = self.sandbox(sandbox_id)
        container_id = uuid.uuid4().hex + uuid.uuid4().hex[:32]
        env = containers.container_env(fields["image"], fields.pop("envs"), sandbox.hostname)
        argv = containers.resolve_argv(
            fields["image"], command=fields.pop("command"), args=fields.pop("args"), env=env
        )
        mounts = list(fields.pop("mounts"))
        resolv = self.sandbox_dir(sandbox_id) / "resolv.conf"
        if resolv.is_file() and not any(m["container"] == "/etc/resolv.conf" for m in mounts):
            mounts.append({"host": str(resolv), "container": "/etc/resolv.conf", "readonly": True})
        paths = cgroups.container_paths(sandbox.cgroup_parent, container_id)
        record = ContainerRecord(
            id=container_id,
            sandbox_id=sandbox_id,
            argv=argv,
            env=env,
            mounts=mounts,
            cgroups=[str(p) for p in paths],
            hostname=sandbox.hostname,
            image_id=images.image_id(fields["image"]),
            **fields,
        )
        with self.lock:
            self.containers[container_id] = record
            save(record, self.container_dir(container_id))
        return container_id

    def start_container(self, container_id: str) -> None:
        record = self.container(container_id)
        sandbox = self.sandbox(record.sandbox_id)
        directory = self.container_dir(container_id)
        proc = containers.start(record, sandbox, directory)
        # Reap the shim when it ends; the container's state comes from its files.
        threading.Thread(target=proc.wait, daemon=True).start()
        deadline = time.monotonic() + 10
        while not (directory / "pid").exists() and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        if not (directory / "pid").exists():
            log = (directory / "shim.log").read_text(errors="replace")[-2000:]
            record.start_error = log.strip() or "the container's shim did not start"
            save(record, directory)
            raise containers.ContainerError(record.start_error)

    def stop_container(self, container_id: str, timeout_s: float) -> None:
        record = self.container(container_id)
        containers.stop(record, self.container_dir(container_id), timeout_s=timeout_s)

    def remove_container(self, container_id: str) -> None:
        record = self.containers.get(container_id)
        if record is None:
            return
        containers.stop(record, self.container_dir(container_id), timeout_s=0)
        # Whatever its recorded state, nothing of a removed container may keep running.
        containers.kill_all(record)
        cgroups.remove([Path(p) for p in record.cgroups])
        with self.lock:
            self.containers.pop(container_id, None)
            self._keep_created_paths(container_id)
            shutil.rmtree(self.container_dir(container_id), ignore_errors=True)

    def _keep_created_paths(self, container_id: str) -> None:
        # Mount points the shim made on the host stay until `down`: another container may
        # still have something mounted on them.
        with contextlib.suppress(OSError, ValueError):
            created = json.loads((self.container_dir(container_id) / "created.json").read_text())
            ledger = self.root / "created-paths"
            with ledger.open("a") as out:
                out.writelines(f"{p}\n" for p in created)

    def container_state(self, container_id: str) -> containers.State:
        return containers.state(self.container(container_id), self.container_dir(container_id))

    def exec_sync(
        self, container_id: str, cmd: list[str], timeout_s: float
    ) -> tuple[bytes, bytes, int]:
        record = self.container(container_id)
        return containers.exec_sync(
            record, self.container_dir(container_id), cmd, timeout_s=timeout_s
        )

    def reopen_log(self, container_id: str) -> None:
        """Ask the container's shim to reopen its log file (the kubelet rotated it)."""
        self.container(container_id)
        with contextlib.suppress(OSError, ValueError, KeyError, ProcessLookupError):
            started = json.loads((self.container_dir(container_id) / "pid").read_text())
            os.kill(int(started["shim"]), signal.SIGUSR1)

    def update_resources(self, container_id: str, resources: dict[str, int]) -> None:
        record = self.container(container_id)
        record.resources = resources
        cgroups.apply([Path(p) for p in record.cgroups], resources)
        with self.lock:
            save(record, self.container_dir(container_id))

    def stream_url(self, kind: str, request: dict[str, Any]) -> str:
        """A URL of the streaming server for one exec or port-forward (``kind``)."""
        from hpalab.cluster.components.streaming import control_socket

        if kind == "exec":
            record = self.container(request["container_id"])
            request["cmd"] = containers.resolve_argv(
                record.image, command=request["cmd"], args=[], env=record.env
            )
        else:
            self.sandbox(request["pod_sandbox_id"])
        transport = httpx.HTTPTransport(uds=str(control_socket(self.config)))
        with httpx.Client(transport=transport, timeout=10) as client:
            reply = client.post(f"http://streaming/{kind}", json=request)
        if reply.status_code != 200:
            raise containers.ContainerError(f"streaming server: {reply.text.strip()}")
        return str(reply.json()["url"])

    # -- stats ------------------------------------------------------------------------------

    def usage(self, key: str, paths: list[Path]) -> dict[str, int]:
        """cgroup usage plus ``nano_cores``, the CPU rate since the previous sample."""
        now = time.time_ns()
        use = cgroups.usage(paths)
        cpu = use.get("cpu_ns")
        if cpu is not None:
            previous = self.cpu_samples.get(key)
            if previous is not None and now > previous[0]:
                use["nano_cores"] = max(cpu - previous[1], 0) * 1_000_000_000 // (now - previous[0])
            self.cpu_samples[key] = (now, cpu)
        use["timestamp"] = now
        return use

    # -- images -----------------------------------------------------------------------------

    def _load_pulled(self) -> list[str]:
        try:
            return list(json.loads((self.root / "images.json").read_text()))
        except (OSError, ValueError):
            return []

    def pull(self, reference: str) -> str:
        entry = images.lookup(reference)
        if entry is None:
            raise NotFound(
                f"image {reference!r} is not in hpalab's image map {images.IMAGE_MAP}: "
                "hpalab's runtime runs only the images listed there (`hpalab cluster images`)"
            )
        if entry.program.resolve() is None:
            raise NotFound(
                f"image {reference!r} runs {entry.program.describe()}, which is not on this "
                "machine: run `hpalab cluster build`"
                + (" --with keda" if (entry.program.built or "").startswith("keda-") else "")
            )
        with self.lock:
            self.pulled.add(reference)
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "images.json").write_text(json.dumps(sorted(self.pulled)))
        return images.image_id(reference)

    def find_image(self, reference: str) -> str | None:
        """The pulled reference ``reference`` names (by reference or image ID)."""
        for pulled in self.pulled:
            if reference in (pulled, images.image_id(pulled)):
                return pulled
        return None

    def remove_image(self, reference: str) -> None:
        found = self.find_image(reference)
        with self.lock:
            self.pulled.discard(found or reference)
            (self.root / "images.json").write_text(json.dumps(sorted(self.pulled)))
