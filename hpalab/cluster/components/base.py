"""What every component module provides."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from hpalab.cluster.config import ClusterConfig

Argv = Callable[[ClusterConfig], list[str]]
Check = Callable[[ClusterConfig], bool]


@dataclass(frozen=True)
class Component:
    """One process of the cluster."""

    name: str
    argv: Argv
    """The command line, rendered from the cluster's configuration."""
    healthy: Check
    """True once the component serves (its health endpoint answers 200)."""
    start_timeout_s: float = 60.0
    prepare: Callable[[ClusterConfig], None] | None = None
    """Writes the component's configuration files before it starts."""


def http_ok(url: str, *, ca: Path | None = None, timeout_s: float = 2.0) -> bool:
    """True when ``url`` answers 200; certificates checked against ``ca`` when given."""
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca else False
    try:
        return httpx.get(url, verify=verify, timeout=timeout_s).status_code == 200
    except (httpx.HTTPError, OSError):
        return False


def unix_socket_answers(path: Path) -> bool:
    """True when something accepts connections on the unix socket at ``path``."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(str(path))
        except OSError:
            return False
    return True


def program(name: str) -> str:
    from hpalab.cluster.building import binary_path

    return str(binary_path(name))
