"""`hpalab adapter preview` against a real Prometheus scraping real counters.

Two tiny exporter processes count requests at different rates; Prometheus scrapes them every
second with the namespace/pod target labels a ServiceMonitor would attach. The preview must
list the renamed metric, build the adapter's query, and report exactly the values a direct
PromQL query returns at the same evaluation time.
"""

import json
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from hpalab.cli.main import run
from hpalab.platforms.local.ports import wait_http_ok
from hpalab.platforms.local.prometheus import PrometheusServer, ScrapeTarget

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

EXPORTER = """
import sys, time
from prometheus_client import Counter, start_http_server
port, step = int(sys.argv[1]), int(sys.argv[2])
requests = Counter("http_requests", "Requests served.")
start_http_server(port, addr="127.0.0.1")
while True:
    requests.inc(step)
    time.sleep(0.1)
"""

CONFIG = """\
rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name:
    matches: "^(.*)_total$"
    as: "${1}_per_second"
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[5s])) by (<<.GroupBy>>)'
"""
EXPECTED_QUERY = 'sum(rate(http_requests_total{namespace="shop",pod=~"web-a|web-b"}[5s])) by (pod)'


def _query(url, expr, at):
    params = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"})
    with urllib.request.urlopen(f"{url}/api/v1/query?{params}", timeout=5) as response:
        return json.load(response)["data"]["result"]


def _start_exporter(reaper, free_port, step):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", EXPORTER, str(port), str(step)], start_new_session=True
    )
    reaper.track(proc)
    assert wait_http_ok(f"http://127.0.0.1:{port}/metrics", timeout_s=15), "exporter did not start"
    return port


def test_preview_matches_direct_promql(tmp_path, capsys, reaper, free_port, prometheus_binary):
    slow = _start_exporter(reaper, free_port, 1)
    fast = _start_exporter(reaper, free_port, 3)
    config = tmp_path / "adapter.yaml"
    config.write_text(CONFIG)
    prom = PrometheusServer(tmp_path / "prom", scrape_interval_s=1, binary=prometheus_binary)
    with prom:
        reaper.track(prom._proc)
        prom.set_targets(
            [
                ScrapeTarget(f"127.0.0.1:{slow}", pod="web-a", namespace="shop"),
                ScrapeTarget(f"127.0.0.1:{fast}", pod="web-b", namespace="shop"),
            ]
        )
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:  # two series with at least two scrapes each
            if len(_query(prom.url, "rate(http_requests_total[5s])", time.time())) == 2:
                break
            time.sleep(0.5)
        else:
            pytest.fail("Prometheus never had two scrapes of both exporters")
        at = time.time()
        argv = ["adapter", "preview", str(config), "--prometheus", prom.url]
        assert run([*argv, "--metric", "http_requests_per_second", "--at", str(at), "--json"]) == 0
        preview = json.loads(capsys.readouterr().out)
        direct = _query(prom.url, EXPECTED_QUERY, at)

        assert run([*argv, "--metric", "http_requests_per_second", "--at", str(at)]) == 0
        text = capsys.readouterr().out

    (rule,) = preview["rules"]
    assert rule["series"] == 2
    assert rule["metrics"] == [
        "namespaces/http_requests_per_second",
        "pods/http_requests_per_second",
    ]
    (metric,) = preview["metrics"]
    assert metric["error"] == ""
    assert metric["namespace"] == "shop"
    assert metric["query"] == EXPECTED_QUERY
    expected = {s["metric"]["pod"]: int(float(s["value"][1]) * 1000) for s in direct}
    got = {v["name"]: v["value_milli"] for v in metric["values"]}
    assert got == expected
    assert set(got) == {"web-a", "web-b"}
    assert got["web-b"] > got["web-a"] > 0  # 30/s against 10/s
    assert EXPECTED_QUERY in text
    assert f"web-a: {metric['values'][0]['value']}" in text
