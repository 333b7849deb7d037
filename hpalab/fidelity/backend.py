"""The scripted metrics backend: an HTTPS server the cluster's aggregator routes the custom,
external and resource metrics APIs to, serving a scenario's values by elapsed time.

It runs in a thread of the ``hpalab fidelity`` process, on the host end of the cluster's link
(the node namespace reaches it; nothing else does), and logs every metrics request the
controller makes: time, object, selector, status and the values returned.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from hpalab.specs.fidelity import ERROR, MISSING, FidelitySpec, MetricScript, value_at
from hpalab.specs.units import parse_quantity_value

CUSTOM = "custom.metrics.k8s.io"
EXTERNAL = "external.metrics.k8s.io"
RESOURCE = "metrics.k8s.io"
WINDOW_S = 15.0
CONTAINER = "idle"


@dataclass(frozen=True, slots=True)
class PodView:
    """What the backend needs of one pod of the target: name, order and requests (milli)."""

    name: str
    requests_milli: dict[str, int]


@dataclass(slots=True)
class Served:
    """One metrics request of the controller and what it got back."""

    t_s: float
    """Wall-clock time the request arrived (seconds since the epoch)."""
    api: str
    """``pods``, ``object``, ``external`` or ``resource``."""
    metric: str
    target: str
    selector: str
    status: int
    message: str = ""
    values: dict[str, str] = field(default_factory=dict)
    """Pod name (or series number) → the value returned, as a quantity string."""
    timestamp: str = ""
    window_s: float = WINDOW_S


def rfc3339(t_s: float) -> str:
    """Seconds since the epoch as the API writes a ``metav1.Time`` (whole seconds)."""
    return datetime.fromtimestamp(int(t_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _milli_text(value: Decimal) -> str:
    milli = int((value * 1000).to_integral_value(rounding="ROUND_CEILING"))
    return f"{milli}m" if milli % 1000 else str(milli // 1000)


class Script:
    """The scenario's values at a moment, per metric and pod."""

    def __init__(self, spec: FidelitySpec) -> None:
        self.scripts: dict[str, MetricScript] = {m.name: m for m in spec.metrics}

    def value(self, metric: str, elapsed_s: float, index: int | None = None) -> str:
        script = self.scripts[metric]
        for override in script.pods:
            if override.index == index:
                return value_at(override.timeline, elapsed_s)
        return value_at(script.timeline, elapsed_s)

    def resource(self, metric: str, elapsed_s: float, index: int, pod: PodView) -> str:
        """A pod's usage of a resource; ``N%`` is N % of its request."""
        text = self.value(metric, elapsed_s, index)
        if not text.endswith("%") or text in (MISSING, ERROR):
            return text
        request = Decimal(pod.requests_milli.get(metric, 0)) / 1000
        return _milli_text(request * parse_quantity_value(text[:-1]) / 100)


class Backend:
    """The scripted metrics APIs over the pods ``pods()`` returns, timed from :meth:`start`."""

    def __init__(self, spec: FidelitySpec, pods: Callable[[], list[PodView]]) -> None:
        self.script = Script(spec)
        self.pods = pods
        self.started_s: float | None = None
        self.log: list[Served] = []
        self._lock = threading.Lock()

    def start(self, now_s: float) -> None:
        self.started_s = now_s

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """The status and body for one GET (logging metrics requests)."""
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) <= 3 or parts[0] != "apis":
            return 200, _discovery(parts)
        now = time.time()
        served = self._serve(parts, query.get("labelSelector", ""), now)
        if served is None:
            return 404, _status(404, f"the server could not find {path}")
        with self._lock:
            self.log.append(served)
        if served.status != 200:
            return served.status, _status(served.status, served.message)
        return 200, _body(served, parts[4] if len(parts) > 4 else "")

    def _serve(self, parts: list[str], selector: str, now: float) -> Served | None:
        group, rest = parts[1], parts[3:]
        elapsed = now - (self.started_s or now)

        def served(api: str, metric: str, target: str) -> Served:
            return Served(now, api, metric, target, selector, 200, timestamp=rfc3339(now))

        if group == RESOURCE and rest[-1:] == ["pods"]:
            return self._per_pod(served("resource", "resources", "pods"), elapsed)
        if group == CUSTOM and len(rest) == 5 and rest[2:4] == ["pods", "*"]:
            return self._per_pod(served("pods", rest[4], "pods/*"), elapsed)
        if group == CUSTOM and len(rest) == 5:
            return self._single(served("object", rest[4], f"{rest[2]}/{rest[3]}"), elapsed)
        if group == EXTERNAL and len(rest) == 3:
            return self._single(served("external", rest[2], ""), elapsed)
        return None

    def _single(self, served: Served, elapsed: float) -> Served:
        metric = served.metric
        if metric not in self.script.scripts:
            return _failed(served, 404, f"the server could not find the metric {metric}")
        value = self.script.value(metric, elapsed)
        if value == ERROR:
            return _failed(served, 500, f"scripted error of metric {metric}")
        if value == MISSING and served.api == "object":
            return _failed(served, 404, f"the server could not find the metric {metric}")
        if value != MISSING:
            served.values["0"] = value
        return served

    def _per_pod(self, served: Served, elapsed: float) -> Served:
        names = [served.metric]
        if served.api == "resource":
            names = [n for n in ("cpu", "memory") if n in self.script.scripts]
        for name in names:
            if self.script.value(name, elapsed) == ERROR:
                return _failed(served, 500, f"scripted error of metric {name}")
        for index, pod in enumerate(self.pods()):
            if served.api == "pods":
                value = self.script.value(served.metric, elapsed, index)
            else:
                value = _usage(self.script, names, elapsed, index, pod)
            if value not in (MISSING, ERROR):
                served.values[pod.name] = value
        return served


def _usage(script: Script, names: list[str], elapsed: float, index: int, pod: PodView) -> str:
    """The pod's usage as ``cpu=…,memory=…`` (only the scripted resources)."""
    out = []
    for name in names:
        value = script.resource(name, elapsed, index, pod)
        if value in (MISSING, ERROR):
            return MISSING
        out.append(f"{name}={value}")
    return ",".join(out)


def _failed(served: Served, status: int, message: str) -> Served:
    served.status, served.message = status, message
    return served


def _status(code: int, message: str) -> dict[str, Any]:
    reason = {404: "NotFound", 500: "InternalError"}.get(code, "")
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _discovery(parts: list[str]) -> dict[str, Any]:
    group_version = "/".join(parts[1:3])
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": [],
    }


def _body(served: Served, namespace: str) -> dict[str, Any]:
    if served.api == "resource":
        items = [
            _pod_metrics(pod, usage, served, namespace) for pod, usage in served.values.items()
        ]
        return {
            "kind": "PodMetricsList",
            "apiVersion": f"{RESOURCE}/v1beta1",
            "metadata": {},
            "items": items,
        }
    if served.api == "external":
        items = [
            {
                "metricName": served.metric,
                "metricLabels": {},
                "timestamp": served.timestamp,
                "value": value,
            }
            for value in served.values.values()
        ]
        return {
            "kind": "ExternalMetricValueList",
            "apiVersion": f"{EXTERNAL}/v1beta1",
            "metadata": {},
            "items": items,
        }
    if served.api == "pods":
        described = [("Pod", name, "/v1", value) for name, value in served.values.items()]
    else:
        resource, name = served.target.split("/", 1)
        described = [(resource, name, "", value) for value in served.values.values()]
    items = [
        {
            "describedObject": {
                "kind": kind,
                "namespace": namespace,
                "name": name,
                "apiVersion": api_version,
            },
            "metricName": served.metric,
            "timestamp": served.timestamp,
            "value": value,
        }
        for kind, name, api_version, value in described
    ]
    return {
        "kind": "MetricValueList",
        "apiVersion": f"{CUSTOM}/v1beta1",
        "metadata": {},
        "items": items,
    }


def _pod_metrics(pod: str, usage: str, served: Served, namespace: str) -> dict[str, Any]:
    amounts = dict(part.split("=", 1) for part in usage.split(","))
    return {
        "metadata": {"name": pod, "namespace": namespace, "creationTimestamp": served.timestamp},
        "timestamp": served.timestamp,
        "window": f"{served.window_s:g}s",
        "containers": [{"name": CONTAINER, "usage": amounts}],
    }


class _Handler(BaseHTTPRequestHandler):
    backend: Backend

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        status, body = self.backend.answer(url.path, query)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are logged as :class:`Served` records, not on stderr."""


class Server:
    """The backend on ``host``, TLS with ``cert``/``key``, in a daemon thread."""

    def __init__(self, backend: Backend, *, host: str, cert: Path, key: Path) -> None:
        handler = type("Handler", (_Handler,), {"backend": backend})
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = int(self.httpd.server_address[1])
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join()
