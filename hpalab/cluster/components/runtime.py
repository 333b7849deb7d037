"""hpalab's container runtime: a CRI server (``python -m hpalab.cluster.runtime``)."""

from __future__ import annotations

import sys
from pathlib import Path

from hpalab.cluster.components.base import Component, unix_socket_answers
from hpalab.cluster.config import ClusterConfig


def socket_path(config: ClusterConfig) -> Path:
    return config.path("run", "cri.sock")


def argv(config: ClusterConfig) -> list[str]:
    return [sys.executable, "-m", "hpalab.cluster.runtime", "--cluster", config.name]


def healthy(config: ClusterConfig) -> bool:
    return unix_socket_answers(socket_path(config))


COMPONENT = Component("runtime", argv, healthy, start_timeout_s=30)
