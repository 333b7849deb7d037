import json
import socket
import stat

import pytest

from hpalab.errors import PrerequisiteError
from hpalab.platforms.local.ports import claim_port, free_port, port_is_free
from hpalab.platforms.local.prometheus import (
    ENV_BINARY,
    ScrapeTarget,
    find_prometheus,
    prometheus_version,
    render_config,
)


def test_config_uses_the_intervals_and_the_discovery_file(tmp_path):
    config = json.loads(
        render_config(scrape_interval_s=1, evaluation_interval_s=15, sd_file=tmp_path / "t.json")
    )
    assert config["global"]["scrape_interval"] == "1000ms"
    assert config["global"]["scrape_timeout"] == "1000ms"  # never longer than the interval
    assert config["global"]["evaluation_interval"] == "15000ms"
    assert config["scrape_configs"][0]["file_sd_configs"][0]["files"] == [str(tmp_path / "t.json")]


def test_scrape_timeout_is_capped_at_ten_seconds(tmp_path):
    config = json.loads(
        render_config(scrape_interval_s=60, evaluation_interval_s=60, sd_file=tmp_path)
    )
    assert config["global"]["scrape_timeout"] == "10000ms"


@pytest.mark.parametrize("bad", [0, -1, float("nan")])
def test_config_rejects_non_positive_intervals(tmp_path, bad):
    with pytest.raises(ValueError, match="> 0"):
        render_config(scrape_interval_s=bad, evaluation_interval_s=1, sd_file=tmp_path)


def test_target_labels_match_a_servicemonitor():
    target = ScrapeTarget("127.0.0.1:9", pod="sample-app-1", extra_labels={"variant": "a"})
    assert target.labels() == {
        "job": "sample-app",
        "namespace": "default",
        "pod": "sample-app-1",
        "service": "sample-app",
        "container": "sample-app",
        "endpoint": "http",
        "variant": "a",
    }


def test_missing_binary_names_the_install_command(monkeypatch):
    monkeypatch.delenv(ENV_BINARY, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PrerequisiteError) as info:
        find_prometheus()
    assert "apt-get install prometheus" in (info.value.hint or "")


def test_env_binary_must_be_executable(monkeypatch, tmp_path):
    fake = tmp_path / "prometheus"
    fake.write_text("#!/bin/sh\necho 'prometheus, version 9.9.9 (branch: x)'\n")
    monkeypatch.setenv(ENV_BINARY, str(fake))
    with pytest.raises(PrerequisiteError, match=ENV_BINARY):
        find_prometheus()
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert find_prometheus() == fake
    assert prometheus_version(fake) == "9.9.9"
    assert prometheus_version(tmp_path / "absent") == "unknown"


def test_claim_port_refuses_a_busy_or_invalid_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        busy = sock.getsockname()[1]
        assert not port_is_free(busy)
        with pytest.raises(PrerequisiteError, match="already in use"):
            claim_port(busy, what="test")
    with pytest.raises(PrerequisiteError, match="out of range"):
        claim_port(70000, what="test")
    assert 0 < claim_port(None, what="test") < 65536
    assert port_is_free(free_port())
