"""``kubectl port-forward`` to a Service, on a free local port, for as long as it is needed.

Only for reaching one backend (Prometheus, Grafana): a port-forward to the app's Service would
send all load to a single pod, so load goes through a NodePort, an ingress, or in-cluster
workers instead.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.lifetime import die_with_parent

_FORWARDING = re.compile(rb"Forwarding from 127\.0\.0\.1:(\d+)")


class PortForward:
    """A running ``kubectl port-forward``; ``url`` is where it listens on 127.0.0.1."""

    def __init__(
        self,
        *,
        namespace: str,
        target: str,
        remote_port: int,
        context: str | None = None,
        kubeconfig: Path | None = None,
        kubectl: str = "kubectl",
        timeout_s: float = 20.0,
    ) -> None:
        self.argv = [kubectl, "-n", namespace, "port-forward", "--address", "127.0.0.1"]
        if context:
            self.argv += ["--context", context]
        if kubeconfig:
            self.argv += ["--kubeconfig", str(kubeconfig)]
        self.argv += [target, f":{remote_port}"]
        self.timeout_s = timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.local_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def start(self) -> None:
        """Start kubectl and wait until it reports the local port.

        Raises:
            PrerequisiteError: kubectl is not installed. PlatformError: it did not come up.
        """
        if shutil.which(self.argv[0]) is None:
            raise PrerequisiteError(
                f"{self.argv[0]} not found",
                hint="install kubectl, or pass the Prometheus URL (e.g. its NodePort)",
            )
        self.process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # kubectl goes with us even after a kill -9 (see hpalab.lifetime)
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only arms prctl
        )
        deadline = time.monotonic() + self.timeout_s
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if match := _FORWARDING.search(line):
                self.local_port = int(match.group(1))
                return
            if not line and self.process.poll() is not None:
                break
        error = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
        self.stop()
        raise PlatformError(
            f"kubectl port-forward did not start: {error.strip() or 'no output'}",
            hint=f"try `{' '.join(self.argv)}` yourself",
        )

    def stop(self) -> None:
        """Stop kubectl (its own process only)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
