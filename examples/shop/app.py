"""A small shop API, the kind of service you would run hpalab on: Flask + prometheus-client.

Nothing in it knows hpalab. It listens on ``--port`` (or ``$PORT``), answers its readiness
probe on ``/healthz/ready`` once its start-up work is done, and exports
``http_requests_total`` (by method, path and status) on ``/internal/metrics``. Each request
takes about ``--service-time`` seconds, of which ``--cpu`` are CPU work, and a replica serves at
most ``--threads`` requests at once: its capacity is ``threads / service-time`` requests/s.

    python examples/shop/app.py --port 8080
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import threading
import time

from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from werkzeug.serving import make_server

REQUESTS = Counter("http_requests_total", "HTTP requests", ["method", "path", "code"])
LATENCY = Histogram("http_request_duration_seconds", "Time to answer a request", ["path"])


def create_app(*, service_time_s: float, cpu_s: float, threads: int, startup_s: float) -> Flask:
    app = Flask("shop")
    slots = threading.BoundedSemaphore(threads)
    ready_at = time.monotonic() + startup_s
    pod = os.environ.get("POD_NAME", "local")

    def work() -> None:
        with slots:
            end = time.thread_time() + cpu_s
            while time.thread_time() < end:
                pass
            time.sleep(max(0.0, service_time_s - cpu_s))

    @app.after_request
    def count(response: Response) -> Response:
        if request.path not in ("/internal/metrics", "/healthz/ready"):
            REQUESTS.labels(request.method, request.path, str(response.status_code)).inc()
        response.headers["X-Pod"] = pod
        return response

    @app.get("/healthz/ready")
    def ready() -> tuple[str, int]:
        return ("ready", 200) if time.monotonic() >= ready_at else ("starting", 503)

    @app.get("/internal/metrics")
    def metrics() -> Response:
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @app.get("/")
    @app.get("/products")
    def products() -> Response:
        with LATENCY.labels("/products").time():
            work()
        return jsonify(products=["tea", "coffee", "cocoa"], pod=pod)

    @app.post("/login")
    def login() -> Response:
        # a signed token any replica can check (here: its prefix), as a JWT would be
        return jsonify(token=f"shopper-{secrets.token_hex(8)}")

    @app.post("/cart")
    def cart() -> tuple[Response, int]:
        if not request.headers.get("Authorization", "").startswith("Bearer shopper-"):
            return jsonify(error="log in first"), 401
        with LATENCY.labels("/cart").time():
            work()
        return jsonify(added=True), 201

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")))
    parser.add_argument("--service-time", type=float, default=0.05, help="seconds per request")
    parser.add_argument("--cpu", type=float, default=0.002, help="CPU seconds per request")
    parser.add_argument("--threads", type=int, default=4, help="requests served at once")
    parser.add_argument("--startup", type=float, default=1.0, help="seconds until ready")
    args = parser.parse_args()
    app = create_app(
        service_time_s=args.service_time,
        cpu_s=args.cpu,
        threads=args.threads,
        startup_s=args.startup,
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    # SIGTERM (a pod's termination) finishes the requests in flight, then exits.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()


if __name__ == "__main__":
    main()
