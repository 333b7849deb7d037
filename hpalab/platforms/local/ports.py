"""Free ports on 127.0.0.1, and waiting for a local HTTP endpoint to answer."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request

from hpalab.errors import PrerequisiteError

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it).

    Another process may still take it before the caller binds it; callers that start a server
    on it check that the server came up and retry with a new port otherwise.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` and it can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind: a port whose last connections linger in TIME_WAIT is free to them.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def claim_port(port: int | None, *, what: str) -> int:
    """``port`` if it is free, a fresh free port when ``port`` is ``None``.

    Raises:
        PrerequisiteError: an explicit ``port`` is taken or out of range.
    """
    if port is None:
        return free_port()
    if not 0 < port < 65536:
        raise PrerequisiteError(
            f"port {port} for {what} is out of range", hint="pick a port from 1 to 65535"
        )
    if not port_is_free(port):
        raise PrerequisiteError(
            f"port {port} on {LOOPBACK} for {what} is already in use",
            hint=f"stop what listens there (`ss -ltnp 'sport = :{port}'`) or leave the port "
            "unset so a free one is picked",
        )
    return port


def http_ok(url: str, *, timeout_s: float = 1.0) -> bool:
    """True when ``url`` answers 2xx within ``timeout_s`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 (loopback)
            return 200 <= int(response.status) < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def wait_http_ok(url: str, *, timeout_s: float, interval_s: float = 0.05) -> bool:
    """Poll ``url`` until it answers 2xx; False when ``timeout_s`` seconds pass first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if http_ok(url, timeout_s=max(0.1, min(1.0, deadline - time.monotonic()))):
            return True
        time.sleep(interval_s)
    return False
