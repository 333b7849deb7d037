"""``kubectl port-forward`` to a Service, on a free local port, for as long as it is needed.

Only for reaching one backend (Prometheus, Grafana): a port-forward to the app's Service would
send all load to a single pod, so load goes through a NodePort, an ingress, or in-cluster
workers instead.
"""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

from hpalab.errors import PlatformError, PrerequisiteError
from hpalab.lifetime import die_with_parent

_FORWARDING = re.compile(rb"Forwarding from 127\.0\.0\.1:(\d+)")


def kubectl_options(context: str | None, kubeconfig: Path | None) -> list[str]:
    """kubectl's options for the cluster of a context and kubeconfig (none: its defaults)."""
    options = ["--context", context] if context else []
    return options + (["--kubeconfig", str(kubeconfig)] if kubeconfig else [])


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
        self.argv += [*kubectl_options(context, kubeconfig), target, f":{remote_port}"]
        self.timeout_s = timeout_s
        self.process: subprocess.Popen[bytes] | None = None
        self.local_port = 0
        self._stderr: IO[bytes] | None = None
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.local_port}"

    def start(self) -> None:
        """Start kubectl and wait (at most ``timeout_s``) until it reports the local port.

        kubectl prints a line for every connection it handles, for as long as it runs: its
        stdout is read to the end by a thread (a full pipe would block kubectl, and with it
        every forwarded connection), and its stderr goes to a temporary file, read only to
        explain a failure.

        Raises:
            PrerequisiteError: kubectl is not installed. PlatformError: it did not come up.
        """
        if shutil.which(self.argv[0]) is None:
            raise PrerequisiteError(
                f"{self.argv[0]} not found",
                hint="install kubectl, or pass the Prometheus URL (e.g. its NodePort)",
            )
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.argv,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            # kubectl goes with us even after a kill -9 (see hpalab.lifetime)
            preexec_fn=die_with_parent(),  # noqa: PLW1509 - only arms prctl
        )
        ports: queue.Queue[int | None] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=_drain, args=(self.process.stdout, ports), name="port-forward", daemon=True
        )
        self._reader.start()
        try:
            port = ports.get(timeout=self.timeout_s)
        except queue.Empty:
            port = None
        if port is not None:
            self.local_port = port
            return
        error = self._error_text()
        running = self.process.poll() is None
        self.stop()
        when = f" within {self.timeout_s:g} s" if running else ""
        raise PlatformError(
            f"kubectl port-forward did not start{when}: {error or 'no output'}",
            hint=f"try `{' '.join(self.argv)}` yourself",
        )

    def _error_text(self) -> str:
        if self.process is not None and self.process.poll() is None:
            time.sleep(0.1)  # kubectl writes its error just before it exits
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()

    def stop(self) -> None:
        """Stop kubectl (its own process only)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)  # stdout closed with kubectl: the reader ends
            self._reader = None
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        self.process = None


def _drain(stdout: IO[bytes], ports: queue.Queue[int | None]) -> None:
    """Report the first ``Forwarding from`` port (``None`` if kubectl ends first), then read
    the rest of kubectl's output to the end so that it never blocks on a full pipe."""
    reported = False
    for line in iter(stdout.readline, b""):
        if not reported and (match := _FORWARDING.search(line)):
            ports.put(int(match.group(1)))
            reported = True
    if not reported:
        ports.put(None)
