"""dagent's own Prometheus metrics: what its workers count, declared once.

Each worker serves these on its `/metrics` (`services.telemetry.metrics_server`)
beside the Temporal SDK's own. Labels name patterns, services, tools and models,
never a user, a session or anything they wrote.

Workflow code records through `replay_safe()`: a worker that replays a history
re-runs its code, and must not count the same turn twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics
from temporalio import workflow

from services.telemetry import metric_names as names

# No `_created` series beside each counter: scrapers infer resets themselves.
disable_created_metrics()  # type: ignore[no-untyped-call]

# Seconds: a turn or a model call (local model: milliseconds; a provider: seconds).
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
CIRCUIT_STATES = ("closed", "half-open", "open")
# The tool label of a call to a tool no service has.
UNKNOWN_TOOL = "(unknown)"

TURNS = Counter(
    names.TURNS, "Turns answered, by pattern and outcome (ok, partial, error).", ["pattern", "outcome"]
)
TURN_SECONDS = Histogram(
    names.TURN_SECONDS, "Time from a turn's start to its reply.", ["pattern"], buckets=LATENCY_BUCKETS
)
TOOL_CALLS = Counter(
    names.TOOL_CALLS,
    "Tool calls the agent made, by service, tool, transport and outcome (ok, failed).",
    ["service", "tool", "transport", "outcome"],
)
CIRCUIT = Gauge(
    names.CIRCUIT,
    "Each tool service's circuit as the latest turn saw it: 1 for its state, 0 for the others.",
    ["service", "state"],
)
MODEL_CALLS = Counter(
    names.MODEL_CALLS, "Model calls, by model and outcome (ok, error).", ["model", "outcome"]
)
MODEL_SECONDS = Histogram(names.MODEL_SECONDS, "Time a model call took.", ["model"], buckets=LATENCY_BUCKETS)
TOKENS = Counter(names.TOKENS, "Tokens of model calls, by model and kind (input, output).", ["model", "kind"])
COST = Counter(names.COST, "What model calls cost in US dollars, as far as it is known.", ["model"])
TOOL_RUNS = Counter(
    names.TOOL_RUNS,
    "Tool runs in a service's worker, by outcome (ok, error).",
    ["service", "tool", "outcome"],
)
TOOL_RUN_SECONDS = Histogram(
    names.TOOL_RUN_SECONDS, "Time a tool run took in its service's worker.", ["service", "tool"],
    buckets=LATENCY_BUCKETS,
)  # fmt: skip
RETRIES = Counter(names.RETRIES, "Activity attempts after the first, by activity.", ["activity"])


def replay_safe() -> bool:
    """Whether a recording made now counts: outside a workflow always; inside, only when
    the code runs for the first time (not while a worker replays what it already did)."""
    return not (workflow.in_workflow() and workflow.unsafe.is_replaying_history_events())


def record_turn(pattern: str, outcome: str, seconds: float) -> None:
    TURNS.labels(pattern, outcome).inc()
    TURN_SECONDS.labels(pattern).observe(seconds)


def record_tool_call(service: str, tool: str, transport: str, ok: bool) -> None:
    TOOL_CALLS.labels(service, tool, transport, "ok" if ok else "failed").inc()


def record_circuit(service: str, state: str) -> None:
    for each in CIRCUIT_STATES:
        CIRCUIT.labels(service, each).set(1 if each == state else 0)


def record_usage(model: str, input_tokens: int, output_tokens: int, cost: float | None) -> None:
    TOKENS.labels(model, "input").inc(input_tokens)
    TOKENS.labels(model, "output").inc(output_tokens)
    if cost:
        COST.labels(model).inc(cost)


@contextmanager
def timed(count: Counter, seconds: Histogram, *labels: str) -> Iterator[None]:
    """Count one run of the block under `labels` plus its outcome (ok, error), and
    observe its duration under `labels`."""
    began = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        count.labels(*labels, outcome).inc()
        seconds.labels(*labels).observe(time.perf_counter() - began)
