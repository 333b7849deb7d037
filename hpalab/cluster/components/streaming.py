"""hpalab-streaming: the runtime's server for exec and port-forward streams (see its main.go).

It listens on the node's loopback (the kubelet, in the node namespace, proxies to it) and
takes the runtime's requests for stream URLs on a unix socket.
"""

from __future__ import annotations

from pathlib import Path

from hpalab.cluster.components.base import Component, program, unix_socket_answers
from hpalab.cluster.config import ClusterConfig


def control_socket(config: ClusterConfig) -> Path:
    return config.path("run", "streaming.sock")


def argv(config: ClusterConfig) -> list[str]:
    return [
        program("hpalab-streaming"),
        f"--state={config.path('runtime')}",
        "--listen=127.0.0.1:0",
        f"--control={control_socket(config)}",
    ]


def healthy(config: ClusterConfig) -> bool:
    return unix_socket_answers(control_socket(config))


COMPONENT = Component("streaming", argv, healthy, start_timeout_s=20)
