"""hpalab's container runtime: a CRI server (``python -m hpalab.cluster.runtime``)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from hpalab.cluster.components.base import Component
from hpalab.cluster.config import ClusterConfig


def socket_path(config: ClusterConfig) -> Path:
    return config.path("run", "cri.sock")


def argv(config: ClusterConfig) -> list[str]:
    return [sys.executable, "-m", "hpalab.cluster.runtime", "--cluster", config.name]


def healthy(config: ClusterConfig) -> bool:
    path = socket_path(config)
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(str(path))
        except OSError:
            return False
    return True


COMPONENT = Component("runtime", argv, healthy, start_timeout_s=30)
