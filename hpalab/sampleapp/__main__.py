"""``python -m hpalab.sampleapp``: run one replica of the sample app.

Every option can also come from the environment (``HPALAB_APP_PORT``, ``HPALAB_APP_CPU``, ...),
which is how the container image is configured. Durations are Kubernetes-style strings
(``2ms``, ``1.5s``) or plain seconds. SIGTERM starts a graceful shutdown: the listener closes,
in-flight requests finish (up to ``--shutdown-timeout``), then the process exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import sys

from aiohttp import web

from hpalab.sampleapp.app import AppConfig, create_app

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m)?\s*$")
_UNIT_S = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, None: 1.0}


def parse_duration(text: str) -> float:
    """``"2ms"`` → 0.002; ``"1.5"`` → 1.5 (seconds). Raises ``ValueError`` on anything else."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (write e.g. 2ms, 0.5s, 1m)")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _env(name: str, default: str) -> str:
    return os.environ.get(f"HPALAB_APP_{name}", default)


def _queue_limit(text: str) -> int | None:
    return int(text) if text.strip() else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options, defaulting to the ``HPALAB_APP_*`` environment variables."""
    parser = argparse.ArgumentParser(prog="python -m hpalab.sampleapp", description=__doc__)
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(_env("PORT", "8080")))
    parser.add_argument("--cpu-per-request", type=parse_duration, default=_env("CPU", "0"))
    parser.add_argument("--latency", type=parse_duration, default=_env("LATENCY", "0"))
    parser.add_argument("--startup-delay", type=parse_duration, default=_env("STARTUP", "0"))
    parser.add_argument(
        "--concurrency", type=int, default=int(_env("CONCURRENCY", "0")), help="0: no limit"
    )
    parser.add_argument(
        "--queue-limit", type=int, default=_queue_limit(_env("QUEUE_LIMIT", "")), help="none"
    )
    parser.add_argument("--pod-name", default=_env("POD_NAME", os.environ.get("HOSTNAME", "")))
    parser.add_argument("--shutdown-timeout", type=parse_duration, default="30s")
    parser.add_argument("--fault-file", default=_env("FAULT_FILE", ""))
    args = parser.parse_args(argv)
    # argparse applies ``type`` to string defaults too, so every duration is a float here.
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = AppConfig(
            cpu_per_request_s=args.cpu_per_request,
            latency_s=args.latency,
            startup_delay_s=args.startup_delay,
            pod_name=args.pod_name,
            fault_file=args.fault_file,
            concurrency=args.concurrency,
            queue_limit=args.queue_limit,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    web.run_app(
        create_app(config),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        shutdown_timeout=args.shutdown_timeout,
        handle_signals=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
