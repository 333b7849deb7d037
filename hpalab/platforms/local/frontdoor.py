"""The front door: one HAProxy in front of the replicas, changed through its runtime API.

HAProxy starts with a fixed number of server slots (``server-template``), all in maintenance.
Routing a Ready replica points a free slot at its port and sets it ``ready``; unrouting sets the
slot to ``maint``: no new request goes there, requests already there finish. Changes go through
the admin socket, so they apply within milliseconds and never reload HAProxy or drop a
connection. HAProxy's own health checks are off: readiness is the supervisor's (the kubelet's)
decision, as Kubernetes endpoints follow readiness probes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import subprocess
import time
from pathlib import Path

from hpalab.errors import PlatformError
from hpalab.platforms.local.ports import LOOPBACK, claim_port
from hpalab.platforms.local.processes import find_binary, spawn, stop_process

ENV_BINARY = "HPALAB_HAPROXY"
INSTALL = "sudo apt-get install haproxy"
BACKEND = "pods"
METRICS_PATH = "/hpalab-frontdoor-metrics"
"""HAProxy's own Prometheus exporter; its backend counters count requests even at 0 replicas."""
SLOT_PREFIX = "slot"


def find_haproxy() -> Path:
    """The HAProxy binary: ``$HPALAB_HAPROXY`` if set, else ``haproxy`` on ``PATH``."""
    return find_binary("haproxy", env=ENV_BINARY, install=INSTALL)


def render_config(*, port: int, socket_path: Path, slots: int, threads: int = 1) -> str:
    """``haproxy.cfg``: a front end on 127.0.0.1:``port``, ``slots`` disabled server slots."""
    if slots < 1:
        raise ValueError("the front door needs at least one server slot")
    return f"""global
    stats socket {socket_path} mode 600 level admin
    stats timeout 30s
    nbthread {threads}
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 10s
    # A request whose connection to a dying replica fails goes to another one.
    option redispatch
    retries 2

frontend load
    bind {LOOPBACK}:{port}
    http-request use-service prometheus-exporter if {{ path {METRICS_PATH} }}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    server-template {SLOT_PREFIX} 1-{slots} {LOOPBACK}:9 disabled
"""


def parse_stat(text: str) -> dict[str, dict[str, str]]:
    """``show stat`` CSV → server name → its columns, for the backend's servers only."""
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    return {
        row["svname"]: row
        for row in rows
        if row.get("pxname") == BACKEND and row.get("svname") not in ("BACKEND", None)
    }


class FrontDoor:
    """An HAProxy process bound to 127.0.0.1 and the slot of every routed replica."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        slots: int = 64,
        binary: Path | None = None,
    ) -> None:
        self.workdir = workdir
        self.binary = binary or find_haproxy()
        self.slots = slots
        self._wanted_port = port
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._slot_of: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self._socket_lock = asyncio.Lock()

    @property
    def url(self) -> str:
        """Base URL of the front door, ``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def socket_path(self) -> Path:
        return self.workdir / "haproxy.sock"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Start HAProxy and wait until its admin socket answers.

        Raises:
            PrerequisiteError: the binary is missing or an explicit port is taken.
            PlatformError: HAProxy exited or did not answer within ``timeout_s`` seconds.
        """
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = claim_port(self._wanted_port, what="the front door")
        self.socket_path.unlink(missing_ok=True)
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            render_config(port=self.port, socket_path=self.socket_path, slots=self.slots)
        )
        log = self.workdir / "haproxy.log"
        self._proc = spawn([str(self.binary), "-db", "-f", str(config)], log=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise PlatformError(
                    f"HAProxy exited with code {self._proc.returncode} while starting",
                    hint=f"read its log: {log}",
                )
            if self.socket_path.exists() and "Name: HAProxy" in self.command_sync("show info"):
                return
            time.sleep(0.02)
        self.stop()
        raise PlatformError("HAProxy did not start in time", hint=f"read its log: {log}")

    def stop(self) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL); a no-op when not running."""
        if self._proc is not None:
            stop_process(self._proc, grace_s=2.0)
        self._slot_of.clear()

    def command_sync(self, command: str) -> str:
        """Send one runtime-API command and return the answer ('' when unreachable)."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(2.0)
                sock.connect(str(self.socket_path))
                sock.sendall(command.encode() + b"\n")
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
        except OSError:
            return ""
        return b"".join(chunks).decode(errors="replace")

    async def command(self, command: str) -> str:
        """Send one runtime-API command without blocking the event loop.

        Commands go one at a time: HAProxy's admin socket drops connections when dozens
        arrive at once (a scale-down of twenty replicas unroutes twenty pods together).
        """
        async with self._socket_lock:
            try:
                reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
            except OSError as exc:
                raise PlatformError(
                    f"the front door's admin socket does not answer: {exc}",
                    hint=f"read {self.workdir / 'haproxy.log'}",
                ) from exc
            try:
                writer.write(command.encode() + b"\n")
                await writer.drain()
                return (await reader.read()).decode(errors="replace")
            except OSError as exc:
                raise PlatformError(
                    f"the front door's admin socket dropped the command {command!r}: {exc}",
                    hint=f"read {self.workdir / 'haproxy.log'}",
                ) from exc
            finally:
                writer.close()

    # -- the Router protocol of the supervisor -------------------------------------------

    async def route(self, pod: str, port: int) -> None:
        """Send new requests to ``pod`` on 127.0.0.1:``port`` from now on."""
        async with self._lock:
            slot = self._slot_of.get(pod) or await self._free_slot()
            self._slot_of[pod] = slot
            server = f"{BACKEND}/{SLOT_PREFIX}{slot}"
            answer = await self.command(
                f"set server {server} addr {LOOPBACK} port {port}; set server {server} state ready"
            )
        if "No such" in answer or "denied" in answer or "Require" in answer:
            raise PlatformError(f"HAProxy refused to route {pod}: {answer.strip()}")

    async def unroute(self, pod: str) -> None:
        """Send no new request to ``pod``; requests in flight there carry on."""
        slot = self._slot_of.get(pod)
        if slot is not None:
            await self.command(f"set server {BACKEND}/{SLOT_PREFIX}{slot} state maint")

    async def in_flight(self, pod: str) -> int:
        """Requests being served by or queued for ``pod`` (0 when it has no slot)."""
        slot = self._slot_of.get(pod)
        if slot is None:
            return 0
        row = parse_stat(await self.command("show stat")).get(f"{SLOT_PREFIX}{slot}")
        if row is None:
            return 0
        return int(row.get("scur") or 0) + int(row.get("qcur") or 0)

    def routed(self) -> dict[str, str]:
        """Pod → HAProxy server status (``UP``, ``MAINT``, ...), read synchronously."""
        stats = parse_stat(self.command_sync("show stat"))
        # Without health checks an enabled server reports "no check": it takes traffic.
        status = {"no check": "UP"}
        result = {}
        for pod, slot in list(self._slot_of.items()):  # the loop thread may add one
            raw = stats.get(f"{SLOT_PREFIX}{slot}", {}).get("status", "?")
            result[pod] = status.get(raw, raw)
        return result

    async def _free_slot(self) -> int:
        used = set(self._slot_of.values())
        for slot in range(1, self.slots + 1):
            if slot not in used:
                return slot
        # Every slot has been used: take back one whose pod is in maintenance and idle.
        stats = parse_stat(await self.command("show stat"))
        for pod, slot in list(self._slot_of.items()):
            row = stats.get(f"{SLOT_PREFIX}{slot}", {})
            if row.get("status") == "MAINT" and int(row.get("scur") or 0) == 0:
                del self._slot_of[pod]
                return slot
        raise PlatformError(
            f"all {self.slots} front-door slots are in use",
            hint="lower spec.hpa.maxReplicas or raise the front door's slot count",
        )
