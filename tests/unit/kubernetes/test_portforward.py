"""kubectl port-forward: the local port is read from kubectl's output; failures are explained.
A stand-in kubectl script plays the real one's output."""

import time

import pytest

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.platforms.kubernetes.portforward import PortForward
from tests.unit.orphans import assert_child_dies_with_parent


def _kubectl(tmp_path, body: str):
    script = tmp_path / "kubectl"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return str(script)


def test_the_url_is_the_port_kubectl_reports_and_stop_ends_it(tmp_path):
    script = (
        'printf "%s " "$@" > "$(dirname "$0")/argv"\n'
        'echo "Forwarding from 127.0.0.1:41234 -> 9090"\n'
        "exec sleep 30\n"
    )
    kubectl = _kubectl(tmp_path, script)
    forward = PortForward(
        namespace="hpalab",
        target="svc/prometheus-operated",
        remote_port=9090,
        context="kind-x",
        kubectl=kubectl,
    )
    forward.start()
    try:
        assert forward.url == "http://127.0.0.1:41234"
        argv = (tmp_path / "argv").read_text().split()
        assert argv == [
            "-n",
            "hpalab",
            "port-forward",
            "--address",
            "127.0.0.1",
            "--context",
            "kind-x",
            "svc/prometheus-operated",
            ":9090",
        ]
    finally:
        process = forward.process
        forward.stop()
    assert process.poll() is not None and forward.process is None


def test_a_failing_kubectl_is_a_platform_error_with_its_message(tmp_path):
    kubectl = _kubectl(
        tmp_path, "echo 'error: services \"prometheus-operated\" not found' >&2\nexit 1\n"
    )
    forward = PortForward(
        namespace="hpalab",
        target="svc/prometheus-operated",
        remote_port=9090,
        kubectl=kubectl,
        timeout_s=5,
    )
    with pytest.raises(PlatformError, match="not found"):
        forward.start()


def test_no_kubectl_is_a_prerequisite_error(tmp_path):
    forward = PortForward(
        namespace="hpalab", target="svc/x", remote_port=1, kubectl=str(tmp_path / "absent")
    )
    with pytest.raises(PrerequisiteError):
        forward.start()


def _wait_for_file(path, *, limit_s: float = 30.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if path.exists():
            return True
        time.sleep(0.05)
    return False


def test_kubectl_never_blocks_on_its_own_output(tmp_path):
    # kubectl prints a line for every forwarded connection, on stdout, for as long as it runs,
    # and may log as much to stderr: 1 MiB of each, far beyond a pipe's 64 KiB, must not
    # block it (the marker is written only after all of it went out).
    script = (
        'echo "Forwarding from 127.0.0.1:41234 -> 9090"\n'
        "i=0; while [ $i -lt 32768 ]; do\n"
        '  echo "Handling connection for 41234 ......"; echo "E1203 warning ..........." >&2\n'
        "  i=$((i+1)); done\n"
        'touch "$(dirname "$0")/all-written"\n'
        "exec sleep 30\n"
    )
    forward = PortForward(
        namespace="hpalab", target="svc/x", remote_port=9090, kubectl=_kubectl(tmp_path, script)
    )
    forward.start()
    try:
        assert _wait_for_file(tmp_path / "all-written"), "kubectl blocked writing its output"
        assert forward.process is not None and forward.process.poll() is None
    finally:
        forward.stop()


def test_a_silent_kubectl_is_given_up_on_after_the_timeout(tmp_path):
    forward = PortForward(
        namespace="hpalab",
        target="svc/x",
        remote_port=9090,
        kubectl=_kubectl(tmp_path, "exec sleep 30\n"),
        timeout_s=0.5,
    )
    with pytest.raises(PlatformError, match=r"did not start within 0\.5 s: no output"):
        forward.start()
    assert forward.process is None


def test_kubectl_dies_with_a_killed_hpalab(tmp_path):
    """A kill -9 of the process that started the port-forward takes kubectl with it."""
    kubectl = _kubectl(tmp_path, 'echo "Forwarding from 127.0.0.1:41234 -> 9090"\nexec sleep 60\n')
    assert_child_dies_with_parent(
        "import sys, time\n"
        "from hpalab.platforms.kubernetes.portforward import PortForward\n"
        f"f = PortForward(namespace='n', target='svc/p', remote_port=1, kubectl={kubectl!r})\n"
        "f.start()\n"
        "print(f.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
