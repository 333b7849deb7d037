"""Raw Prometheus series over a trial, recorded with ``query_range`` at 1 s resolution."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hpalab.errors import CollectorError

DEFAULT_QUERIES = (
    "sum by (namespace, pod) (http_requests_total)",
    "sum by (namespace, pod) (rate(http_requests_total[30s]))",
    "up",
)


def record_range(
    url: str, *, queries: list[str], start: float, end: float, origin: float
) -> Iterator[dict[str, Any]]:
    """Rows ``{t_s, query, labels, value}`` for every sample of every query in
    ``[start, end]`` (wall-clock seconds); ``t_s`` counts from ``origin``.

    Raises CollectorError naming the query that failed; rows of earlier queries are yielded
    before it.
    """
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=url, disable_ssl=True, timeout=30)
    begin = datetime.fromtimestamp(start, UTC)
    finish = datetime.fromtimestamp(max(end, start + 1), UTC)
    for query in queries:
        try:
            result = client.custom_query_range(query, begin, finish, "1s")
        except Exception as error:  # the client raises several unrelated types
            raise CollectorError(
                f"Prometheus query_range failed for {query!r}: {error}",
                hint="check that Prometheus was up for the whole trial",
            ) from error
        for series in result:
            labels = json.dumps(series.get("metric", {}), sort_keys=True)
            for stamp, value in series.get("values", []):
                number = float(value)
                if math.isfinite(number):
                    yield {
                        "t_s": round(float(stamp) - origin, 3),
                        "query": query,
                        "labels": labels,
                        "value": number,
                    }
