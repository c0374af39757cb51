"""`dagent metrics`: the headline figures, read from the workers' /metrics as any
Prometheus would (the same address, the same bearer secret, the text format)."""

from __future__ import annotations

import http.client
import math
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from durable_agents_cli.stack.state import StackState
from services.auth_files import METRICS_TOKEN_FILE, read_secret
from services.errors import DagentError
from services.telemetry import metric_names as names

SCRAPE_TIMEOUT = 3.0
# Loopback without the user's HTTP proxy.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Headline:
    turns: int = 0
    errors: int = 0  # turns that failed as a whole
    partial: int = 0  # turns that lacked a part (a tool failed, a service unavailable)
    p50_seconds: float | None = None
    p95_seconds: float | None = None
    tool_calls: int = 0
    failed_tool_calls: int = 0
    model_calls: int = 0
    failed_model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    retries: int = 0
    # component -> its /metrics, and those that did not answer (with why)
    sources: dict[str, str] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)


def scrape(url: str, token: str) -> list[Sample]:
    """Every sample a /metrics serves; OSError when it cannot be read."""
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})  # noqa: S310 (the stack's own http URL)
    with _DIRECT.open(request, timeout=SCRAPE_TIMEOUT) as answer:
        text = answer.read().decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def headline(state: StackState, home: Path) -> Headline:
    """The figures summed over every worker of the stack that answers."""
    workers = [c for c in state.components if c.metrics and c.name != "temporal"]
    if not workers:
        raise DagentError(
            "This stack's workers serve no metrics: start it with metrics on "
            "('DAGENT_METRICS=true dagent up')."
        )
    try:
        token = read_secret(home, METRICS_TOKEN_FILE)
    except OSError as exc:
        raise DagentError(f"Cannot read the metrics secret in {home}/auth: {exc.strerror}.") from None
    if token is None:
        raise DagentError(
            "The metrics secret is gone; 'dagent up' makes a new one (restart with 'dagent down')."
        )
    samples: list[Sample] = []
    figures = Headline()
    for component in workers:
        figures.sources[component.name] = component.metrics
        try:
            samples += scrape(component.metrics, token)
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError is an OSError
            figures.unreachable[component.name] = str(getattr(exc, "reason", exc)) or type(exc).__name__
    if len(figures.unreachable) == len(workers):
        raise DagentError(
            "No worker's metrics answered ("
            + "; ".join(f"{name}: {why}" for name, why in figures.unreachable.items())
            + "); see 'dagent status'."
        )
    _sum_into(figures, samples)
    return figures


def _sum_into(figures: Headline, samples: list[Sample]) -> None:
    def total(name: str, **labels: str) -> float:
        return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())

    figures.turns = int(total(f"{names.TURNS}_total"))
    figures.errors = int(total(f"{names.TURNS}_total", outcome="error"))
    figures.partial = int(total(f"{names.TURNS}_total", outcome="partial"))
    figures.tool_calls = int(total(f"{names.TOOL_CALLS}_total"))
    figures.failed_tool_calls = int(total(f"{names.TOOL_CALLS}_total", outcome="failed"))
    figures.model_calls = int(total(f"{names.MODEL_CALLS}_total"))
    figures.failed_model_calls = int(total(f"{names.MODEL_CALLS}_total", outcome="error"))
    figures.input_tokens = int(total(f"{names.TOKENS}_total", kind="input"))
    figures.output_tokens = int(total(f"{names.TOKENS}_total", kind="output"))
    figures.cost = total(f"{names.COST}_total")
    figures.retries = int(total(f"{names.RETRIES}_total"))
    buckets: dict[float, float] = {}
    for sample in samples:
        if sample.name == f"{names.TURN_SECONDS}_bucket":
            bound = float(sample.labels["le"])
            buckets[bound] = buckets.get(bound, 0.0) + sample.value
    figures.p50_seconds = quantile(0.5, buckets.items())
    figures.p95_seconds = quantile(0.95, buckets.items())


def quantile(q: float, buckets: Iterable[tuple[float, float]]) -> float | None:
    """The `q` quantile of a histogram's cumulative buckets (upper bound, count), as
    Prometheus' `histogram_quantile` estimates it: linear within the bucket it falls in."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] == 0:
        return None
    rank = q * ordered[-1][1]
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower  # beyond the last finite bound: that bound is all that is known
            return lower + (bound - lower) * (rank - below) / (count - below) if count > below else bound
        lower, below = bound, count
    return lower
