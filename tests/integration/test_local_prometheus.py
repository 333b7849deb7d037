import json
import urllib.error
import urllib.parse
import urllib.request

import pytest

from hpalab.errors import PrerequisiteError
from hpalab.platforms.local.prometheus import PrometheusServer, ScrapeTarget

pytestmark = pytest.mark.integration


def _query(url, expr):
    q = urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(f"{url}/api/v1/query?{q}", timeout=5) as response:
        return json.load(response)["data"]["result"]


def test_scrapes_targets_with_servicemonitor_labels_and_survives_a_kill(
    tmp_path, prometheus_binary, sample_app, reaper, wait_until
):
    port = sample_app()
    prom = PrometheusServer(tmp_path / "prom", scrape_interval_s=1, binary=prometheus_binary)
    with prom:
        reaper.track(prom._proc)
        assert prom.url.startswith("http://127.0.0.1:")
        prom.set_targets([ScrapeTarget(f"127.0.0.1:{port}", pod="sample-app-abc12")])
        up = wait_until(lambda: _query(prom.url, "up == 1"), timeout_s=15, what="a scrape")
        labels = up[0]["metric"]
        for key, value in {
            "namespace": "default",
            "pod": "sample-app-abc12",
            "service": "sample-app",
            "container": "sample-app",
            "job": "sample-app",
        }.items():
            assert labels[key] == value
        first_port = prom.port
        prom.kill()
        assert not prom.running
        prom.start()
        reaper.track(prom._proc)
        assert prom.port == first_port
        wait_until(lambda: _query(prom.url, "up == 1"), timeout_s=15, what="a scrape again")
        prom.configure(scrape_interval_s=2)
        assert '"scrape_interval": "2000ms"' in prom.config_file.read_text()
        # reloaded by SIGHUP: the running server has the new interval
        with urllib.request.urlopen(f"{prom.url}/api/v1/status/config") as response:
            assert "scrape_interval: 2s" in json.load(response)["data"]["yaml"]
        # and the lifecycle API is off, so no local user can stop it over HTTP
        quit_request = urllib.request.Request(f"{prom.url}/-/quit", method="POST")
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(quit_request)
        assert prom.running
    assert not prom.running
    assert (tmp_path / "prom" / "data").is_dir()


def test_an_explicit_busy_port_is_a_prerequisite_error(tmp_path, prometheus_binary, sample_app):
    busy = sample_app()
    prom = PrometheusServer(tmp_path / "prom", port=busy, binary=prometheus_binary)
    with pytest.raises(PrerequisiteError, match=f"port {busy}"):
        prom.start()
    assert not prom.running
