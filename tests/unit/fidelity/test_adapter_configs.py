"""`hpalab fidelity adapter`: every shipped config is one prometheus-adapter would start with,
a bad one is exit 2 with its place before any cluster is touched, and the comparison of one
request counts what differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpalab.autoscaling.adapter import DEFAULT_REST_MAPPER, Series, discover
from hpalab.cli.adapter import load_input
from hpalab.cli.main import run
from hpalab.fidelity.adapter_compare import _compared, metric_names
from hpalab.fidelity.adapter_stack import Answer

SHIPPED = sorted(Path(__file__).parents[2].joinpath("fidelity", "adapter").glob("*.yaml"))


def test_at_least_fifteen_configs_are_shipped() -> None:
    assert len(SHIPPED) >= 15


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_config_loads(path: Path) -> None:
    config = load_input(path).config
    assert config.rules or config.external_rules


def test_a_bad_config_is_exit_2_with_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - seriesQuery: 'up'\n    metricsQuery: '<<.Nope'\n")
    code = run(["fidelity", "adapter", str(bad), "--cluster", "no-such-cluster"])
    assert code == 2
    assert f"{bad}:3:" in capsys.readouterr().err


def test_metric_names_are_the_discovery_documents_names() -> None:
    config = load_input(SHIPPED[0].parent / "custom-and-external.yaml").config
    series = Series.from_data({"__name__": "http_requests_queued", "namespace": "ns", "pod": "p-1"})
    query = config.rules[0].series_query
    found = discover(
        config,
        {query: [series], config.external_rules[0].series_query: [series]},
        mapper=DEFAULT_REST_MAPPER,
    )
    assert metric_names(found) == [
        "external/http_requests_queued",
        "namespaces/http_requests_queued",
        "pods/http_requests_queued",
    ]


def test_a_request_agrees_only_on_one_identical_query_and_answer() -> None:
    logged = Answer("/p", 200, {}, [{"query": "q", "end": "t"}])
    assert _compared(logged, "/p", "q", [["a", "1"]], [["a", "1"]]).differences == []
    assert _compared(logged, "/p", "q2", [["a", "1"]], [["a", "1"]]).differences == [
        "PromQL differs"
    ]
    assert _compared(logged, "/p", "q", [["a", "1"]], [["a", "2"]]).differences == ["values differ"]
    twice = Answer("/p", 200, {}, [{"query": "q"}, {"query": "q"}])
    assert "sent 2 queries" in _compared(twice, "/p", "q", [], []).differences[0]
