"""Delaying the TCP traffic one pod starts towards other pods (``networkDelay``).

The kernel's ``netem`` queueing discipline is the usual tool, but not every kernel has it (a
kernel built without ``CONFIG_NET_SCH_NETEM`` answers ``Specified qdisc kind is unknown``). So
the delay is a delay line in the node's network namespace, which any kernel with iptables
allows:

- a ``nat PREROUTING`` rule ``REDIRECT``\\ s the connections the pod opens to the pod network
  to a proxy of ours listening on the node's bridge address (bridged traffic passes iptables:
  ``bridge-nf-call-iptables``);
- the proxy finds each connection's real destination (``SO_ORIGINAL_DST``), connects to it, and
  forwards every chunk both ways ``delay`` (± ``jitter``) after it arrived, in order;
- the pod's connections made before the fault (Prometheus keeps its scrape connections open)
  would never pass the new rule, so a ``FORWARD`` rule resets them: the next scrape connects
  anew, through the proxy.

At the end the rules go and the proxy stops, which closes the delayed connections: the next
ones go straight again. The proxy runs as ``python -m hpalab.cluster.delaying`` inside the node
namespace, started and stopped by :func:`delay_pod_traffic`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import struct
import subprocess
import sys
import time

from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.isolating import Rule
from hpalab.cluster.network import in_netns
from hpalab.errors import PlatformError
from hpalab.lifetime import die_with_parent

SO_ORIGINAL_DST = 80
CHUNK = 65536


def _original_destination(sock: socket.socket) -> tuple[str, int]:
    raw = sock.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, packed = struct.unpack("!2xH4s8x", raw)
    return socket.inet_ntoa(packed), int(port)


async def _pump(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float, jitter_s: float
) -> None:
    """Forward what ``reader`` gets to ``writer``, each chunk ``delay_s`` (± ``jitter_s``)
    after it arrived; never out of order."""
    line: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await line.get()
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not data:
                writer.write_eof() if writer.can_write_eof() else writer.close()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    last_due = 0.0
    try:
        while True:
            data = await reader.read(CHUNK)
            wobble = random.uniform(-jitter_s, jitter_s) if jitter_s else 0.0  # noqa: S311
            last_due = max(last_due, time.monotonic() + max(0.0, delay_s + wobble))
            line.put_nowait((last_due, data))
            if not data:
                break
        await delivering
    finally:
        delivering.cancel()


async def _serve(host: str, delay_s: float, jitter_s: float) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        try:
            target = _original_destination(sock)
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        try:
            await asyncio.gather(
                _pump(reader, up_writer, delay_s, jitter_s),
                _pump(up_reader, writer, delay_s, jitter_s),
            )
        except OSError:
            pass
        finally:
            writer.close()
            up_writer.close()

    server = await asyncio.start_server(connection, host, 0)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpalab.cluster.delaying")
    parser.add_argument("--host", required=True, help="the node's bridge address")
    parser.add_argument("--delay", type=float, required=True, help="seconds, each way")
    parser.add_argument("--jitter", type=float, default=0.0, help="seconds, uniform ±")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.host, args.delay, args.jitter))
    return 0


# -- the rules and the proxy process, from hpalab's side -------------------------------------


def _rules(config: ClusterConfig, source: str, port: int) -> list[Rule]:
    match = ["-s", f"{source}/32", "-d", config.pod_cidr, "-p", "tcp"]
    return [
        Rule("nat", "PREROUTING", [*match, "-j", "REDIRECT", "--to-ports", str(port)]),
        Rule("filter", "FORWARD", [*match, "-j", "REJECT", "--reject-with", "tcp-reset"]),
    ]


class PodDelay:
    """One ``networkDelay``: the proxy process and the rules that send the pod's traffic to it."""

    def __init__(self, config: ClusterConfig, source: str, delay_s: float, jitter_s: float):
        self.config, self.source = config, source
        argv = [sys.executable, "-m", "hpalab.cluster.delaying", "--host", config.bridge_ip]
        argv += ["--delay", repr(delay_s), "--jitter", repr(jitter_s)]
        self.proc = subprocess.Popen(
            in_netns(config.netns, argv),
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only arms prctl
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            self.proc.kill()
            raise PlatformError(f"the delay proxy did not start on cluster {config.name}")
        self.port = int(line)
        self.rules = _rules(config, source, self.port)
        for rule in self.rules:
            rule.insert(config)

    def stop(self) -> None:
        for rule in self.rules:
            rule.delete(self.config)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    sys.exit(main())
