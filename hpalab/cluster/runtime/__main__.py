"""``python -m hpalab.cluster.runtime --cluster NAME``: serve CRI on the cluster's socket."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc

from hpalab.cluster.components.runtime import socket_path
from hpalab.cluster.config import ClusterConfig
from hpalab.cluster.runtime import protos
from hpalab.cluster.runtime.core import Runtime
from hpalab.cluster.runtime.server import Services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpalab.cluster.runtime")
    parser.add_argument("--cluster", required=True, help="the cluster's name")
    args = parser.parse_args(argv)
    config = ClusterConfig.load(args.cluster)
    if config is None:
        print(f"no cluster named {args.cluster!r}", file=sys.stderr)
        return 2
    pb, pb_grpc = protos.load()

    class Servicer(Services, pb_grpc.RuntimeServiceServicer, pb_grpc.ImageServiceServicer):  # type: ignore[misc,name-defined]
        """Our calls first; the generated bases answer UNIMPLEMENTED for the rest."""

    servicer = Servicer(Runtime(config), pb)
    server = grpc.server(ThreadPoolExecutor(max_workers=16, thread_name_prefix="cri"))
    pb_grpc.add_RuntimeServiceServicer_to_server(servicer, server)
    pb_grpc.add_ImageServiceServicer_to_server(servicer, server)
    sock = socket_path(config)
    sock.parent.mkdir(parents=True, exist_ok=True)
    sock.unlink(missing_ok=True)
    server.add_insecure_port(f"unix://{sock}")
    server.start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    server.stop(grace=2).wait()
    sock.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
