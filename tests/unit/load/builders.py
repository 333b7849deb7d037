"""Small builders of load samples for tests."""

from hpalab.load.samples import LoadSample


def sample(t_s: int, **fields: object) -> LoadSample:
    """A healthy second at 100 rps; ``fields`` override any attribute."""
    values: dict[str, object] = {
        "t_s": t_s,
        "offered_rps": 100.0,
        "scheduled": 100,
        "sent_rps": 100,
        "achieved_rps": 100,
        "failures": 0,
        "conn_errors": 0,
        "dropped": 0,
        "users": 10,
        "in_flight": 1,
        "latency_p50_ms": 1.0,
        "latency_p95_ms": 2.0,
        "latency_p99_ms": 3.0,
        "late_max_ms": 0.5,
        "loop_lag_ms": 1.0,
        "generator_cpu": 0.2,
    }
    values.update(fields)
    return LoadSample(**values)  # type: ignore[arg-type]


def run_of(n: int, **fields: object) -> list[LoadSample]:
    return [sample(t, **fields) for t in range(n)]
