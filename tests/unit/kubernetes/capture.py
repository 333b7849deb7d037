"""Record real API server responses in the recording format ``fakeapi`` replays.

A reverse proxy on 127.0.0.1 (plain HTTP, as ``FakeServer`` serves) forwards every request to
the API server of an ``hpalab cluster`` with the cluster's admin client certificate, and appends
each answer to its route's responses, in the order the requests came: a JSON body as ``body``,
any other body as ``text`` and ``content_type``, a watch as its ``stream`` of events (each
passed on as it arrives). A command runs against a kubeconfig that points at the proxy (in
``$KUBECONFIG``; ``{kubeconfig}`` in its arguments is replaced by the path), or ``--get`` reads
paths through it; then the routes are written to ``recordings/NAME.json``::

    python -m tests.unit.kubernetes.capture --cluster rec --name up_fresh_cluster \\
        -- hpalab up --platform kubernetes --namespace rec experiments/ci-smoke.yaml

Responses are kept as received, except ``metadata.managedFields`` (server-side apply's field
owners) and the OpenAPI schemas of CustomResourceDefinitions, which no test reads and which would
make the recordings megabytes (``--keep-all`` keeps them). Upgraded connections (port-forward,
exec) are not proxied.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shlex
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.unit.kubernetes.fakeapi import RECORDINGS

FORWARDED = ("accept", "content-type", "user-agent")
"""Request headers passed on; the proxy's client has no credentials of its own, and without
``Accept-Encoding`` the API server answers uncompressed."""


@dataclass
class Upstream:
    """The API server of a kubeconfig's current context, with its client certificate."""

    host: str
    port: int
    context: ssl.SSLContext

    @classmethod
    def from_kubeconfig(cls, path: Path, keys_dir: Path) -> Upstream:
        config = yaml.safe_load(path.read_text())
        current = next(c for c in config["contexts"] if c["name"] == config["current-context"])
        cluster = next(c for c in config["clusters"] if c["name"] == current["context"]["cluster"])
        user = next(u for u in config["users"] if u["name"] == current["context"]["user"])
        server = urlsplit(cluster["cluster"]["server"])
        context = ssl.create_default_context(
            cadata=_pem(cluster["cluster"], "certificate-authority")
        )
        pair = keys_dir / "client.pem"
        pair.touch(mode=0o600)
        pair.write_text(_pem(user["user"], "client-certificate") + _pem(user["user"], "client-key"))
        context.load_cert_chain(pair)
        return cls(server.hostname or "", server.port or 443, context)

    def connect(self, timeout_s: float | None) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            self.host, self.port, context=self.context, timeout=timeout_s
        )


def _pem(section: dict[str, Any], name: str) -> str:
    """A kubeconfig's ``NAME-data`` (base64) or ``NAME`` (a file) as PEM text."""
    if f"{name}-data" in section:
        return base64.b64decode(section[f"{name}-data"]).decode()
    return Path(section[name]).read_text()


def slim(value: Any) -> Any:
    """``value`` without ``metadata.managedFields`` and without the OpenAPI schemas of
    CustomResourceDefinitions (hundreds of kilobytes each, read by no test)."""
    if isinstance(value, list):
        return [slim(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: slim(v) for k, v in value.items() if k != "managedFields" or not isinstance(v, list)}
    if out.get("kind") == "CustomResourceDefinition" and isinstance(out.get("spec"), dict):
        versions = out["spec"].get("versions") or []
        out["spec"]["versions"] = [{k: v for k, v in w.items() if k != "schema"} for w in versions]
    return out


@dataclass
class Recorder:
    """Every route's responses, in the order the requests arrived."""

    keep_all: bool = False
    routes: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def slot(self, method: str, path: str, *, watch: bool) -> dict[str, Any]:
        """A response to fill in, placed now so that concurrent requests keep their order."""
        response: dict[str, Any] = {}
        with self.lock:
            self.routes.setdefault((method, path + ("?watch" if watch else "")), []).append(
                response
            )
        return response

    def decode(self, data: bytes) -> Any:
        decoded = json.loads(data)
        return decoded if self.keep_all else slim(decoded)

    def dump(self) -> list[dict[str, Any]]:
        """The routes in the fakeapi format, answers that never came left out."""
        with self.lock:
            return [
                {"method": method, "path": path, "responses": [r for r in found if r]}
                for (method, path), found in self.routes.items()
                if any(found)
            ]


def _handler(
    upstream: Upstream, recorder: Recorder, impersonate: str | None
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            watch = parse_qs(parts.query).get("watch", [""])[-1] in ("true", "1")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() in FORWARDED}
            if impersonate:  # as a user without the admin's rights
                headers["Impersonate-User"] = impersonate
            slot = recorder.slot(self.command, parts.path, watch=watch)
            connection = upstream.connect(None if watch else 120.0)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                if watch and answer.status == 200:
                    self._stream(answer, slot)
                else:
                    self._whole(answer, slot)
            except OSError:
                pass  # the client went away, or the server did: nothing more to record
            finally:
                connection.close()

        def _stream(self, answer: http.client.HTTPResponse, slot: dict[str, Any]) -> None:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.getheader("Content-Type") or "")
            self.end_headers()
            events: list[Any] = []
            slot.update({"status": answer.status, "stream": events})
            while line := answer.readline():
                self.wfile.write(line)
                self.wfile.flush()
                if line.strip():
                    try:
                        events.append(recorder.decode(line))
                    except ValueError:
                        events.append(line.decode(errors="replace").rstrip("\n"))

        def _whole(self, answer: http.client.HTTPResponse, slot: dict[str, Any]) -> None:
            data = answer.read()
            content_type = answer.getheader("Content-Type") or ""
            recorded: dict[str, Any] = {"status": answer.status}
            try:
                if "json" not in content_type:
                    raise ValueError(content_type)
                recorded["body"] = recorder.decode(data) if data else {}
            except ValueError:
                recorded.update(content_type=content_type, text=data.decode(errors="replace"))
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            slot.update(recorded)

        do_GET = do_PATCH = do_DELETE = do_POST = do_PUT = _serve

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def recording_proxy(
    kubeconfig: Path, recorder: Recorder, impersonate: str | None = None
) -> Iterator[str]:
    """A proxy to ``kubeconfig``'s API server on 127.0.0.1; yields its URL."""
    with tempfile.TemporaryDirectory() as keys:
        upstream = Upstream.from_kubeconfig(kubeconfig, Path(keys))
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream, recorder, impersonate))
        httpd.daemon_threads = True
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_address[1]}"
        finally:
            httpd.shutdown()
            httpd.server_close()


def proxy_kubeconfig(url: str, path: Path) -> Path:
    """A kubeconfig whose server is the proxy (which holds the credentials)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "capture", "cluster": {"server": url}}],
        "users": [{"name": "capture", "user": {}}],
        "contexts": [{"name": "capture", "context": {"cluster": "capture", "user": "capture"}}],
        "current-context": "capture",
    }
    path.write_text(json.dumps(config))
    return path


def _read(url: str, path: str) -> None:
    """GET ``path`` through the proxy and read the answer to its end (errors included)."""
    request = urllib.request.Request(url + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
    except urllib.error.HTTPError as error:
        error.read()


def cluster_kubeconfig(name: str) -> Path:
    """The admin kubeconfig of ``hpalab cluster`` NAME."""
    from hpalab.cluster import lifecycle

    return lifecycle.existing(name).kubeconfig


def server_version(kubeconfig: Path) -> str:
    with tempfile.TemporaryDirectory() as keys:
        upstream = Upstream.from_kubeconfig(kubeconfig, Path(keys))
        connection = upstream.connect(30.0)
        try:
            connection.request("GET", "/version")
            return str(json.loads(connection.getresponse().read())["gitVersion"])
        finally:
            connection.close()


def capture(
    kubeconfig: Path,
    *,
    command: list[str],
    gets: list[str],
    keep_all: bool = False,
    impersonate: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Run ``command`` (or read ``gets``) through a recording proxy; ``(routes, exit code)``."""
    recorder = Recorder(keep_all=keep_all)
    status = 0
    with (
        recording_proxy(kubeconfig, recorder, impersonate) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = proxy_kubeconfig(url, Path(tmp) / "kubeconfig")
        for path in gets:
            _read(url, path)
        if command:
            argv = [arg.replace("{kubeconfig}", str(config)) for arg in command]
            env = {**os.environ, "KUBECONFIG": str(config)}
            status = subprocess.run(argv, env=env, check=False).returncode
    return recorder.dump(), status


def describe(version: str, what: str, command: list[str], gets: list[str]) -> str:
    how = (
        f"`{shlex.join(command)}`"
        if command
        else "reading " + ", ".join(f"`GET {g}`" for g in gets)
    )
    return (
        f"Captured from `hpalab cluster` (Kubernetes {version}) by "
        f"tests/unit/kubernetes/capture.py, {how}. {what}".strip()
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.unit.kubernetes.capture", description=__doc__.split("\n\n")[0]
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--cluster", help="an hpalab cluster's name")
    where.add_argument("--kubeconfig", type=Path, help="a kubeconfig with a client certificate")
    parser.add_argument("--name", required=True, help="writes recordings/NAME.json")
    parser.add_argument("--what", default="", help="what the recording shows, for its description")
    parser.add_argument("--get", action="append", default=[], help="a path to GET (repeatable)")
    parser.add_argument("--as", dest="user", help="send every request as this user")
    parser.add_argument("--keep-all", action="store_true", help="keep what slim() drops")
    parser.add_argument("command", nargs="*", help="the command to run, after --")
    args = parser.parse_args(argv)
    if not args.command and not args.get:
        parser.error("give a command after -- or at least one --get")
    kubeconfig = args.kubeconfig or cluster_kubeconfig(args.cluster)
    version = server_version(kubeconfig)
    routes, status = capture(
        kubeconfig,
        command=args.command,
        gets=args.get,
        keep_all=args.keep_all,
        impersonate=args.user,
    )
    description = describe(version, args.what, args.command, args.get)
    if args.user:
        description += f" Every request was sent as user {args.user!r} (impersonated)."
    if not args.keep_all:
        description += (
            " metadata.managedFields and the CustomResourceDefinitions' OpenAPI schemas left out."
        )
    target = RECORDINGS / f"{args.name}.json"
    target.write_text(json.dumps({"description": description, "routes": routes}, indent=1) + "\n")
    print(f"{target}: {sum(len(r['responses']) for r in routes)} responses, command exit {status}")
    return status


if __name__ == "__main__":
    sys.exit(main())
