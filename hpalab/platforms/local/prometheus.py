"""A real Prometheus server for one lab: generated config, file-based discovery, own data.

Usage::

    with PrometheusServer(lab_dir / "prometheus", scrape_interval_s=1) as prom:
        prom.set_targets([ScrapeTarget("127.0.0.1:8081", pod="sample-app-7d9f")])
        httpx.get(f"{prom.url}/api/v1/query", params={"query": "up"})

The binary comes from ``$HPALAB_PROMETHEUS`` or ``PATH``. Targets are written to a file that
Prometheus watches (``file_sd_configs``), so a replica change needs no reload; a new scrape
interval rewrites ``prometheus.yml`` and reloads it with SIGHUP. Every target carries the
labels a prometheus-operator ServiceMonitor gives it: ``namespace``, ``pod``, ``service``,
``container``, ``endpoint`` and ``job`` (the service name).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from hpalab.errors import PlatformError
from hpalab.platforms.local.ports import LOOPBACK, claim_port, http_ok, port_is_free
from hpalab.platforms.local.processes import find_binary, spawn, stop_process

ENV_BINARY = "HPALAB_PROMETHEUS"
INSTALL = "sudo apt-get install prometheus"
SD_FILE = "targets.json"


def find_prometheus() -> Path:
    """The Prometheus binary: ``$HPALAB_PROMETHEUS`` if set, else ``prometheus`` on ``PATH``.

    Raises:
        PrerequisiteError: no usable binary; the hint gives the install command.
    """
    return find_binary("prometheus", env=ENV_BINARY, install=INSTALL)


def prometheus_version(binary: Path) -> str:
    """The version the binary reports (``2.42.0+ds``), or ``unknown``."""
    try:
        out = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    words = (out.stdout or out.stderr).split()
    return words[2].rstrip(",") if len(words) > 2 and words[1] == "version" else "unknown"


@dataclass(frozen=True, slots=True)
class ScrapeTarget:
    """One scrape target, labelled like a pod endpoint selected by a ServiceMonitor."""

    address: str
    """``host:port`` to scrape (``/metrics``)."""
    pod: str
    namespace: str = "default"
    service: str = "sample-app"
    container: str = "sample-app"
    endpoint: str = "http"
    extra_labels: dict[str, str] = field(default_factory=dict)

    def labels(self) -> dict[str, str]:
        """The target labels, as Prometheus attaches them to every scraped series."""
        return {
            "job": self.service,
            "namespace": self.namespace,
            "pod": self.pod,
            "service": self.service,
            "container": self.container,
            "endpoint": self.endpoint,
            **self.extra_labels,
        }


def render_config(*, scrape_interval_s: float, evaluation_interval_s: float, sd_file: Path) -> str:
    """``prometheus.yml`` for one lab (JSON, which is valid YAML). Intervals in seconds."""
    if not scrape_interval_s > 0 or not evaluation_interval_s > 0:
        raise ValueError("scrape and evaluation intervals must be > 0 seconds")
    interval = _duration(scrape_interval_s)
    config = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": _duration(min(scrape_interval_s, 10.0)),
            "evaluation_interval": _duration(evaluation_interval_s),
        },
        "scrape_configs": [
            {
                "job_name": "sample-app",
                "metrics_path": "/metrics",
                "file_sd_configs": [{"files": [str(sd_file)], "refresh_interval": "30s"}],
            }
        ],
    }
    return json.dumps(config, indent=2) + "\n"


def _duration(seconds: float) -> str:
    return f"{round(seconds * 1000)}ms"


def _write_atomic(path: Path, text: str) -> None:
    # Prometheus watches the file: it must never see a half-written one.
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


class PrometheusServer:
    """One Prometheus process bound to 127.0.0.1, its config and data under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        *,
        scrape_interval_s: float = 5.0,
        evaluation_interval_s: float | None = None,
        port: int | None = None,
        binary: Path | None = None,
        retention: str = "2d",
    ) -> None:
        self.workdir = workdir
        self.binary = binary or find_prometheus()
        self.scrape_interval_s = scrape_interval_s
        self.evaluation_interval_s = evaluation_interval_s or scrape_interval_s
        self._wanted_port = port
        self.port = 0
        self.retention = retention
        self._proc: subprocess.Popen[bytes] | None = None
        self._targets: list[ScrapeTarget] = []

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``; valid once started."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def exit_code(self) -> int | None:
        """The exit code of the last process when it has exited, else ``None``."""
        return self._proc.poll() if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def config_file(self) -> Path:
        return self.workdir / "prometheus.yml"

    @property
    def log_file(self) -> Path:
        return self.workdir / "prometheus.log"

    def start(self, *, timeout_s: float = 30.0) -> None:
        """Start the server and wait until ``/-/ready`` answers; a no-op when running.

        A restart after :meth:`stop` or :meth:`kill` keeps the port (when still free), the
        targets and the data.

        Raises:
            PrerequisiteError: the binary is missing or an explicit port is taken.
            PlatformError: the server exited or did not get ready within ``timeout_s`` s.
        """
        if self.running:
            return
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        self._write_files()
        # A restart keeps its port unless someone took it meanwhile; an explicit port must be free.
        reuse = self.port if self.port and port_is_free(self.port) else None
        self.port = claim_port(self._wanted_port or reuse, what="Prometheus")
        argv = [
            str(self.binary),
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--storage.tsdb.retention.time={self.retention}",
            f"--web.listen-address={LOOPBACK}:{self.port}",
        ]
        self._proc = spawn(argv, log=self.log_file)
        self._wait_ready(timeout_s)

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise PlatformError(
                    f"Prometheus exited with code {self._proc.returncode} while starting",
                    hint=f"read its log: {self.log_file}",
                )
            if http_ok(f"{self.url}/-/ready", timeout_s=0.5):
                return
            time.sleep(0.05)
        self.stop()
        raise PlatformError(
            f"Prometheus did not get ready within {timeout_s:.0f} s",
            hint=f"read its log: {self.log_file}",
        )

    def stop(self, *, grace_s: float = 5.0) -> None:
        """Stop the server (SIGTERM, SIGKILL after ``grace_s`` s); a no-op when not running."""
        if self._proc is not None:
            stop_process(self._proc, grace_s=grace_s)

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would (fault injection)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=5)

    def set_targets(self, targets: list[ScrapeTarget]) -> None:
        """Replace the scrape targets; Prometheus picks the file up without a reload."""
        self._targets = list(targets)
        if self.workdir.exists():
            self._write_targets()

    def configure(
        self, *, scrape_interval_s: float, evaluation_interval_s: float | None = None
    ) -> None:
        """Change the intervals (seconds): rewrite the config and reload a running server.

        Raises:
            PlatformError: the running server rejected the new config.
        """
        self.scrape_interval_s = scrape_interval_s
        self.evaluation_interval_s = evaluation_interval_s or scrape_interval_s
        self._write_files()
        if self.running:
            self.reload()

    def reload(self, *, timeout_s: float = 10.0) -> None:
        """Make the running server re-read its config and wait until it has.

        SIGHUP rather than ``POST /-/reload``: the HTTP lifecycle API would also let any local
        user stop the server (``/-/quit``). Success is read from Prometheus' own
        ``prometheus_config_last_reload_*`` metrics.
        """
        before = self._reload_state()[1]
        if self._proc is None or self._proc.poll() is not None:
            raise PlatformError("Prometheus is not running", hint=f"read its log: {self.log_file}")
        self._proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ok, stamp = self._reload_state()
            if stamp > before:
                if not ok:
                    raise PlatformError(
                        "Prometheus refused its new config",
                        hint=f"read its log: {self.log_file}",
                    )
                return
            time.sleep(0.05)
        raise PlatformError(
            f"Prometheus did not reload its config within {timeout_s:.0f} s",
            hint=f"read its log: {self.log_file}",
        )

    def _reload_state(self) -> tuple[bool, float]:
        """(last reload successful, its timestamp in seconds) from the server's /metrics."""
        try:
            with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:  # noqa: S310
                text = response.read().decode()
        except OSError:
            return True, 0.0
        values = {}
        for line in text.splitlines():
            if line.startswith("prometheus_config_last_reload_success"):
                name, _, value = line.partition(" ")
                values[name] = float(value)
        return (
            values.get("prometheus_config_last_reload_successful", 1.0) == 1.0,
            values.get("prometheus_config_last_reload_success_timestamp_seconds", 0.0),
        )

    def _write_files(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_targets()
        text = render_config(
            scrape_interval_s=self.scrape_interval_s,
            evaluation_interval_s=self.evaluation_interval_s,
            sd_file=self.workdir / SD_FILE,
        )
        _write_atomic(self.config_file, text)

    def _write_targets(self) -> None:
        groups = [{"targets": [t.address], "labels": t.labels()} for t in self._targets]
        _write_atomic(self.workdir / SD_FILE, json.dumps(groups, indent=2) + "\n")

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
