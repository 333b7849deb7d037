import pytest


@pytest.fixture(autouse=True)
def _default_recorder(monkeypatch):
    # Prometheus is not part of these tests: record one row per trial instead
    from hpalab.orchestration import trial

    def recorder(url, *, queries, start, end, origin):
        yield {"t_s": 0.0, "query": queries[0], "labels": "{}", "value": 1.0}

    monkeypatch.setattr(trial, "record_range", recorder)
