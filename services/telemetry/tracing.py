"""One OpenTelemetry trace per turn, through Temporal's own OpenTelemetry plugin.

Each dagent process calls `start(component, home)` once: it installs the SDK's
replay-safe tracer provider (spans a workflow ends while replaying its history are
never exported again, and their ids are the same on every worker), exporting to

- the OTLP collector the standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or
  `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) names, over HTTP/protobuf, with every other
  `OTEL_EXPORTER_OTLP_*` variable honoured by the exporter itself; or else
- the local store under DAGENT_HOME (`services.telemetry.store`), for `dagent trace`.

`OTEL_SDK_DISABLED=true` (or `OTEL_TRACES_EXPORTER=none`) turns tracing off. A
client or worker made with `plugins()` carries the trace context in the headers of
every workflow, update, activity and Nexus call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# What the spans of every dagent process are named after, as OTel's `service.name`.
SERVICE_PREFIX = "dagent-"
TRACER = "dagent"
# How often a process writes what it ended to the local store.
LOCAL_DELAY_MS = 200

_provider: Any = None


def disabled() -> bool:
    return (
        os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
        or os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none"
    )


def collector() -> str | None:
    """The OTLP endpoint spans go to, if the user configured one."""
    return next((os.environ[name] for name in OTLP_ENDPOINTS if os.environ.get(name)), None)


def start(component: str, home: Path) -> bool:
    """Install this process's tracer provider (once; later calls keep the first).
    Whether spans are recorded."""
    global _provider  # noqa: PLW0603
    if _provider is not None:
        return True
    if disabled():
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
    from temporalio.contrib.opentelemetry import create_tracer_provider

    exporter: SpanExporter
    delay: int | None = None  # the SDK's default (5 s), or OTEL_BSP_SCHEDULE_DELAY
    if collector():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        from services.telemetry.store import LocalSpanExporter

        exporter = LocalSpanExporter(home, component)
        if not os.environ.get("OTEL_BSP_SCHEDULE_DELAY"):
            # A file append is cheap: `dagent trace` right after a turn sees all of it.
            delay = LOCAL_DELAY_MS
    provider = create_tracer_provider(
        resource=Resource.create({"service.name": f"{SERVICE_PREFIX}{component}"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=delay))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def plugins() -> list[Any]:
    """The Temporal plugins of a client of this process: tracing, if it is on."""
    if _provider is None:
        return []
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin

    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def flush() -> None:
    """Export what this process ended so far (a one-shot command, before it exits)."""
    if _provider is not None:
        _provider.force_flush(5_000)


def trace_id(span: Any) -> str:
    """A span's trace id as OTLP and every collector's UI write it; '' for none."""
    context = span.get_span_context()
    return f"{context.trace_id:032x}" if context.trace_id else ""
