"""Metrics a Prometheus can scrape: each worker's /metrics (dagent's own and the Temporal
SDK's), read over HTTP and parsed with Prometheus' own text parser, on a real stack."""

from __future__ import annotations

import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from durable_agents_cli.stack.metrics import quantile
from services import topology
from services.auth_files import METRICS_TOKEN_FILE, read_secret
from tests.helpers import Stack, eventually

WORKERS = list(topology.WORKERS)
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(home=tmp_path_factory.mktemp("metrics") / "home").up() as running:
        yield running


def _get(url: str, **headers: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with DIRECT.open(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


def _samples(stack: Stack, worker: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample of a worker's /metrics, by name, parsed as Prometheus parses them."""
    token = read_secret(stack.home, METRICS_TOKEN_FILE)
    status, text = _get(stack.component(worker)["metrics"], Authorization=f"Bearer {token}")
    assert status == 200, text
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(value for got, value in samples.get(name, []) if labels.items() <= got.items())


def _with_sdk_metrics(samples: dict[str, Any]) -> dict[str, Any] | None:
    return samples if any(name.startswith("temporal_") for name in samples) else None


def _ask(stack: Stack, question: str, *extra: str) -> dict[str, Any]:
    return json.loads(stack.run("ask", question, "--json", *extra, check=True).stdout)  # type: ignore[no-any-return]


def test_every_worker_and_the_dev_server_list_their_metrics_address(stack: Stack) -> None:
    status = stack.status()
    listed = {c["name"]: c["metrics"] for c in status["components"]}
    for name in ["temporal", *WORKERS]:
        assert listed[name].startswith(f"http://{topology.LOOPBACK}:"), listed
        assert listed[name].endswith("/metrics")
    assert len(set(listed[name] for name in ["temporal", *WORKERS])) == 4
    # The dev server's own exporter answers there (Temporal's server metrics).
    status_code, text = _get(listed["temporal"])
    assert status_code == 200
    assert "# TYPE" in text
    shown = stack.run("status", check=True).stdout
    assert "metrics" in shown


def test_each_worker_serves_its_own_and_the_sdks_metrics(stack: Stack) -> None:
    _ask(stack, "What is 2 + 2?")
    for worker in WORKERS:
        samples = eventually(lambda w=worker: _with_sdk_metrics(_samples(stack, w)))
        # The Temporal SDK's own, through its MetricBuffer and Temporal's OpenTelemetry bridge.
        assert any(name.startswith("temporal_") for name in samples), sorted(samples)[:20]
        assert "process_resident_memory_bytes" in samples
    # In Prometheus' conventions: seconds, with the unit in the name.
    orchestrator = _samples(stack, topology.ORCHESTRATOR)
    assert _value(orchestrator, "temporal_workflow_task_execution_latency_seconds_count") > 0


def test_metrics_answer_only_the_bearer_of_the_stacks_secret_and_never_a_web_page(stack: Stack) -> None:
    url = stack.component(topology.ORCHESTRATOR)["metrics"]
    token = read_secret(stack.home, METRICS_TOKEN_FILE)
    assert token
    assert (stack.home / "auth" / METRICS_TOKEN_FILE).stat().st_mode & 0o077 == 0
    assert _get(url)[0] == 401
    assert _get(url, Authorization="Bearer wrong")[0] == 401
    assert _get(url, Authorization=f"Bearer {token}", Origin="http://evil.example")[0] == 403
    port = url.split(":")[2].split("/")[0]
    assert _get(url, Authorization=f"Bearer {token}", Host=f"evil.example:{port}")[0] == 421
    assert _get(url.replace("/metrics", "/other"), Authorization=f"Bearer {token}")[0] == 404
    # Nothing of what a user asked is in a label: patterns, tools, models only.
    status, text = _get(url, Authorization=f"Bearer {token}")
    assert status == 200
    assert "2 + 2" not in text


def test_the_turn_counter_moves_by_one_per_turn_with_its_tool_model_and_tokens(stack: Stack) -> None:
    before = {worker: _samples(stack, worker) for worker in WORKERS}
    answer = _ask(stack, "What's the current stock price of AAPL?")
    assert "AAPL" in answer["answer"]

    def moved() -> dict[str, Any] | None:
        after = {worker: _samples(stack, worker) for worker in WORKERS}
        turns = _value(after["orchestrator"], "dagent_turns_total", pattern="nexus")
        return (
            after if turns > _value(before["orchestrator"], "dagent_turns_total", pattern="nexus") else None
        )

    after = eventually(moved)
    orch, orch0, fin, fin0 = (
        after["orchestrator"],
        before["orchestrator"],
        after["finance"],
        before["finance"],
    )

    def grew(now: dict[str, Any], then: dict[str, Any], name: str, **labels: str) -> float:
        return _value(now, name, **labels) - _value(then, name, **labels)

    assert grew(orch, orch0, "dagent_turns_total", pattern="nexus", outcome="ok") == 1
    assert grew(orch, orch0, "dagent_turn_seconds_count", pattern="nexus") == 1
    assert (
        grew(orch, orch0, "dagent_tool_calls_total", service="finance", tool="stock_price", outcome="ok") == 1
    )
    assert grew(orch, orch0, "dagent_model_calls_total", outcome="ok") == answer["timings"]["steps"]
    tokens = answer["usage"]["input_tokens"] + answer["usage"]["output_tokens"]
    assert grew(orch, orch0, "dagent_model_tokens_total") == tokens > 0
    assert _value(orch, "dagent_circuit_state", service="finance", state="closed") == 1
    # The tool ran in Finance's worker: counted there, with its time.
    assert grew(fin, fin0, "dagent_tool_runs_total", service="finance", tool="stock_price", outcome="ok") == 1
    assert grew(fin, fin0, "dagent_tool_run_seconds_count", tool="stock_price") == 1


def test_dagent_metrics_prints_the_headline_figures(stack: Stack) -> None:
    figures = json.loads(stack.run("metrics", "--json", check=True).stdout)
    assert figures["turns"] >= 2
    assert figures["errors"] == 0
    assert figures["p50_seconds"] is not None
    assert figures["p95_seconds"] >= figures["p50_seconds"]
    assert figures["input_tokens"] > 0
    assert figures["cost"] == 0.0
    assert set(figures["sources"]) == set(WORKERS)
    assert not figures["unreachable"]
    shown = stack.run("metrics", check=True).stdout
    for word in ("turns", "p50", "p95", "tokens", "cost", "metrics-token"):
        assert word in shown


def test_a_replayed_conversation_counts_no_turn_twice(stack: Stack) -> None:
    session = "replayed-metrics"
    for question in ("What is 2 + 2?", "What is 3 + 3?"):
        _ask(stack, question, "--session", session)
    orchestrator = stack.component(topology.ORCHESTRATOR)
    os.kill(orchestrator["pid"], signal.SIGKILL)
    eventually(lambda: stack.component(topology.ORCHESTRATOR)["pid"] not in (None, orchestrator["pid"])
               and stack.component(topology.ORCHESTRATOR)["state"] == "running", timeout=60)  # fmt: skip
    # The new worker replays the session's two turns, then answers a third: one turn counted.
    assert "**12**" in _ask(stack, "What is 5 + 7?", "--session", session)["answer"]
    samples = eventually(lambda: _samples(stack, topology.ORCHESTRATOR), timeout=30)
    assert _value(samples, "dagent_turns_total") == 1


def test_turning_metrics_off_and_on_leaves_the_dev_server_running(stack: Stack) -> None:
    temporal = stack.component("temporal")["pid"]
    off = stack.start("up", env={"DAGENT_METRICS": "false"})
    _, stderr = off.communicate(timeout=180)
    assert off.returncode == 0, stderr
    status = stack.status()
    assert all(c["metrics"] is None for c in status["components"] if c["name"] in WORKERS)
    result = stack.run("metrics")
    assert result.returncode == 1
    assert "DAGENT_METRICS" in result.stderr
    stack.run("up", check=True)
    assert stack.component("temporal")["pid"] == temporal  # only the workers changed
    assert all(stack.component(worker)["metrics"] for worker in WORKERS)
    assert eventually(lambda: _samples(stack, topology.ORCHESTRATOR))


def test_dagent_metrics_with_the_stack_down_says_so(tmp_path: Any) -> None:
    idle = Stack(home=tmp_path / "home")
    result = idle.run("metrics")
    assert result.returncode == 1
    assert "not running" in result.stderr
    assert "Traceback" not in result.stderr


def test_quantiles_are_estimated_as_prometheus_does() -> None:
    buckets = [(0.1, 10.0), (0.5, 60.0), (1.0, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.1 + 0.4 * (50 - 10) / 50)
    assert quantile(0.95, buckets) == pytest.approx(0.5 + 0.5 * (95 - 60) / 40)
    assert quantile(0.99, [(0.1, 1.0), (float("inf"), 2.0)]) == 0.1
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
