"""A Kubernetes API server stand-in on 127.0.0.1 that replays recorded responses.

Routes map ``(method, path)`` to a list of responses, served in order; the last one repeats,
except a watch's: each recorded stream is served once, and then a watch gets no events until it
is closed, as from a real server when nothing changes. A response is ``{"status": 200, "body":
{...}}``; ``{"status": 503, "text": "...", "content_type": "text/plain"}`` for a body that is not
JSON; or, for watches, ``{"status": 200, "stream": [event, ...]}`` (newline-delimited JSON, then
the connection closes, as when a watch times out). Recordings are captured from a real API
server by ``capture.py``.
Server-side apply (``PATCH`` with ``application/apply-patch+yaml``) echoes the object back with a
uid and resourceVersion, as the API server does, unless a route says otherwise. Every request
is recorded for assertions.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RECORDINGS = Path(__file__).parent / "recordings"
NAMESPACE = "rec"
"""The stack's namespace in the recordings (captured with ``--namespace rec``)."""

Routes = dict[tuple[str, str], list[dict[str, Any]]]


def recorded(name: str) -> Routes:
    """The routes of ``recordings/<name>.json``: ``(method, path)`` → its responses in order."""
    data = json.loads((RECORDINGS / f"{name}.json").read_text())
    return {(r["method"], r["path"]): r["responses"] for r in data["routes"]}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeApi:
    routes: Routes = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, path: str, *responses: dict[str, Any]) -> None:
        self.routes.setdefault((method, path), []).extend(responses)

    def load(self, name: str) -> None:
        """Add the routes of ``recordings/<name>.json``."""
        for (method, path), responses in recorded(name).items():
            self.add(method, path, *json.loads(json.dumps(responses)))

    def respond(self, method: str, path: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        watch = query.get("watch") == "true"
        key = (method, path + ("?watch" if watch else ""))
        with self.lock:
            queue = self.routes.get(key)
            if queue:
                return queue.pop(0) if len(queue) > 1 or watch else queue[0]
        if method == "PATCH" and isinstance(body, dict):
            echoed = json.loads(json.dumps(body))
            echoed["metadata"].update({"uid": "0b5c-fake", "resourceVersion": "1000"})
            return {"status": 200, "body": echoed}
        if method == "DELETE":
            return {
                "status": 200,
                "body": {"kind": "Status", "apiVersion": "v1", "status": "Success"},
            }
        if watch:
            return {"status": 200, "stream": [], "hold_s": 0.2}
        return {
            "status": 404,
            "body": {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
                "message": f"{path} not found",
            },
        }

    def calls(self, method: str | None = None, prefix: str = "") -> list[Request]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and r.path.startswith(prefix)
            ]


def _handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with api.lock:
                api.requests.append(
                    Request(
                        self.command,
                        parts.path,
                        query,
                        {k.lower(): v for k, v in self.headers.items()},
                        body,
                    )
                )
            answer = api.respond(self.command, parts.path, query, body)
            self.send_response(answer["status"])
            if "text" in answer:  # a body that is not JSON, as the aggregator sends
                payload = answer["text"].encode()
                self.send_header("Content-Type", answer["content_type"])
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            self.send_header("Content-Type", "application/json")
            if "stream" in answer:
                self.end_headers()
                for event in answer["stream"]:
                    line = event if isinstance(event, str) else json.dumps(event)
                    self.wfile.write(line.encode() + b"\n")
                    self.wfile.flush()
                # A real watch stays open until its timeout; holding keeps clients from spinning.
                time.sleep(answer.get("hold_s", 0.0))
                return
            payload = json.dumps(answer.get("body", {})).encode()
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


class FakeServer:
    """Serve ``api`` on a free 127.0.0.1 port until ``close``."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def kubeconfig(self, path: Path, *, context: str = "fake") -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {"token": "test-token"}}],
            "contexts": [{"name": context, "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": context,
        }
        path.write_text(json.dumps(config))
        return path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
